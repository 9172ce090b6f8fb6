export { createPayClient, type PayClient, type PayClientOptions } from "./client.js";
export { PayApiError, WebhookVerificationError } from "./errors.js";
export { requestSigningString, signRequest, type SignedHeaders } from "./signing.js";
export { signWebhook, verifyWebhook, webhookKey, type VerifyWebhookParameters, type WebhookHeaders } from "./webhook.js";
export * from "./types.js";
