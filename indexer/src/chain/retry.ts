/** Exponential backoff with full jitter; retries only what `isRetryable` accepts, never gives up unless told. */
export type RetryOptions = {
  /** first delay, ms (default 200) */
  baseDelayMs?: number;
  /** largest delay, ms (default 15,000) */
  maxDelayMs?: number;
  /** attempts in all, including the first (default: unlimited — a range is never skipped) */
  maxAttempts?: number;
  /** stops waiting and rethrows the last error when aborted */
  signal?: AbortSignal;
  /** told of every failed attempt that will be retried */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
};

export async function withRetry<T>(
  fn: () => Promise<T>,
  isRetryable: (error: unknown) => boolean,
  { baseDelayMs = 200, maxDelayMs = 15_000, maxAttempts = Infinity, signal, onRetry }: RetryOptions = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isRetryable(error) || attempt >= maxAttempts || signal?.aborted) throw error;
      const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(attempt - 1, 30));
      // full jitter, but never below a tenth of the ceiling so a storm of failures still spaces out
      const delayMs = Math.round(ceiling * (0.1 + 0.9 * Math.random()));
      onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs, signal);
      if (signal?.aborted) throw error;
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
