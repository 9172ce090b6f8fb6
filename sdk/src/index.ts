export { createPayClient, type PayClient, type PayClientOptions } from "./client.js";
export { PayApiError, WebhookVerificationError } from "./errors.js";
export { paySignature, signRequest, type SignedHeaders } from "./signing.js";
export { typedDataToSign, type TypedDataJson, type TypedDataToSign } from "./typedData.js";
export {
  CALLBACK_ACK,
  signWebhook,
  verifyWebhook,
  webhookKey,
  type VerifyWebhookParameters,
  type WebhookEvent,
  type WebhookHeaders,
} from "./webhook.js";
export * from "./types.js";
