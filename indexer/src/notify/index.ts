export {
  createOutboxWorker,
  formatNotifyMetrics,
  type CreateOutboxWorkerParameters,
  type NotifyMetrics,
  type OutboxWorker,
} from "./outboxWorker.js";
export { DEFAULT_RETRY_SCHEDULE_MS } from "./backoff.js";
export { blockedReason, checkNotifyUrl, WebhookTargetRefusedError } from "./urlGuard.js";
export { callbackHeaders, isAcknowledgement, webhookKey } from "./sign.js";
