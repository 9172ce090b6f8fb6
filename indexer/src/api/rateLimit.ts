/**
 * A token bucket per key, in process memory: `ratePerSecond` sustained, `burst` at once. Each API process
 * limits on its own, so N processes allow N times the rate.
 */
export type RateLimiter = { take(key: string): { ok: true } | { ok: false; retryAfterMs: number } };

export function createRateLimiter({
  ratePerSecond,
  burst = ratePerSecond * 2,
  now = Date.now,
}: {
  ratePerSecond: number;
  burst?: number;
  now?: () => number;
}): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key) {
      const t = now();
      let b = buckets.get(key);
      if (!b) {
        if (buckets.size > 100_000) buckets.clear();
        b = { tokens: burst, at: t };
        buckets.set(key, b);
      }
      b.tokens = Math.min(burst, b.tokens + ((t - b.at) * ratePerSecond) / 1000);
      b.at = t;
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return { ok: true };
      }
      return { ok: false, retryAfterMs: Math.ceil(((1 - b.tokens) * 1000) / ratePerSecond) };
    },
  };
}
