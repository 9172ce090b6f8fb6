import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createRateLimiter } from "../src/api/rateLimit.js";

describe("rate limiter", () => {
  it("allows the burst, then the sustained rate, per key", () => {
    let t = 0;
    const rl = createRateLimiter({ ratePerSecond: 10, burst: 3, now: () => t });
    for (let i = 0; i < 3; i++) assert.equal(rl.take("a").ok, true);
    const refused = rl.take("a");
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.retryAfterMs, 100);
    assert.equal(rl.take("b").ok, true, "keys have their own buckets");
    t += 100;
    assert.equal(rl.take("a").ok, true);
    assert.equal(rl.take("a").ok, false);
    t += 10_000;
    for (let i = 0; i < 3; i++) assert.equal(rl.take("a").ok, true, "refills up to the burst only");
    assert.equal(rl.take("a").ok, false);
  });
});
