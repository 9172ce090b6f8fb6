import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createBatcher } from "../src/store/batcher.js";

// a few turns of the event loop (the batcher flushes on setImmediate); not a timer, which a busy machine
// can fire before the loop's check phase
const tick = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

describe("batcher (concurrent calls in one statement)", () => {
  it("sends a lone call at once and groups the calls that queue while batches run", async () => {
    const batches: number[][] = [];
    const release: (() => void)[] = [];
    const b = createBatcher<number, number>({
      maxInFlight: 1,
      runBatch: async (items) => {
        batches.push(items);
        await new Promise<void>((r) => release.push(r));
        return items.map((x) => x * 10);
      },
    });
    const first = b.run(1);
    await tick();
    assert.deepEqual(batches, [[1]], "a lone call is not held back");
    const rest = [2, 3, 4].map((x) => b.run(x));
    await tick();
    assert.equal(batches.length, 1, "at most maxInFlight batches run");
    release.shift()!();
    assert.equal(await first, 10);
    await tick();
    assert.deepEqual(batches[1], [2, 3, 4], "the queued calls go together");
    release.shift()!();
    assert.deepEqual(await Promise.all(rest), [20, 30, 40]);
  });

  it("an Error in one slot fails only that call; a failed batch fails all of its calls", async () => {
    let fail = false;
    const b = createBatcher<number, number>({
      maxInFlight: 1,
      maxBatch: 2,
      runBatch: async (items) => {
        if (fail) throw new Error("batch down");
        return items.map((x) => (x < 0 ? new Error(`bad ${x}`) : x));
      },
    });
    const results = await Promise.allSettled([b.run(1), b.run(-2), b.run(3)]);
    assert.deepEqual(
      results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message)),
      [1, "bad -2", 3],
    );
    fail = true;
    const down = await Promise.allSettled([b.run(1), b.run(2)]);
    assert.ok(down.every((r) => r.status === "rejected" && /batch down/.test((r.reason as Error).message)));
  });
});
