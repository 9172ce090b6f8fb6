/**
 * WebSocket heads (`hardhat node` serves WebSocket on its HTTP port): with `wsUrl` set, a new block wakes
 * run() at once, well before a long poll interval; with a WebSocket endpoint that is down, polling goes on.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createChainFollower, type ChainFollower } from "../src/chain/follower.js";
import { createHeadSubscription } from "../src/chain/heads.js";
import type { Db } from "../src/store/db.js";
import { openStore } from "../src/store/open.js";
import { deployFixture, freePort, startHardhatNode, type Fixture, type HardhatNode } from "./chainHarness.js";

let node: HardhatNode;
let fx: Fixture;
let db: Db;
const running: ChainFollower[] = [];

before(async () => {
  [node, db] = await Promise.all([startHardhatNode(), openStore({ pgliteDir: "memory://" })]);
  fx = await deployFixture(node);
});
after(async () => {
  await Promise.all(running.map((f) => f.stop()));
  await db?.close().catch(() => {});
  node?.stop();
});

const wsOf = (url: string) => url.replace(/^http/, "ws");

async function until(what: string, ok: () => Promise<boolean> | boolean, ms: number) {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const depositCount = async () => Number((await db.query<{ n: string }>("SELECT count(*)::text AS n FROM chain_deposits"))[0]!.n);

describe("WebSocket heads", () => {
  it("a subscription to newHeads wakes a waiter when a block is mined", async () => {
    const heads = createHeadSubscription({ url: wsOf(node.url), chainId: 31337 });
    try {
      await until("the subscription", () => heads.live, 5_000);
      await heads.wait(0); // drop the wake-up the subscription itself gives
      const t0 = Date.now();
      const woke = heads.wait(30_000);
      await fx.mine(1);
      assert.equal(await woke, "head");
      assert.ok(Date.now() - t0 < 2_000);
      assert.equal(await heads.wait(50), "timeout", "one head, one wake-up");
    } finally {
      heads.close();
    }
  });

  it("ingests a new block well before the poll interval when wsUrl is set, and keeps polling when the socket is down", async () => {
    await db.query("TRUNCATE chain_cursors, chain_blocks, chain_deposits, chain_vault_events");
    const watched = fx.paymentAddress(77n);
    const make = (wsUrl: string, pollIntervalMs: number) => {
      const f = createChainFollower({
        db,
        chain: { chainId: 31337, rpcUrl: node.url, wsUrl, vault: fx.vault, tokens: [{ address: fx.token }], confirmations: 1 },
        pollIntervalMs,
      });
      f.watch([watched]);
      running.push(f);
      f.run().catch(() => {});
      return f;
    };
    const POLL = 20_000;
    const f = make(wsOf(node.url), POLL);
    const head = await fx.blockNumber();
    await until("the first tick", () => f.status().tip >= head, 10_000);
    await new Promise((r) => setTimeout(r, 300)); // the subscription is confirmed meanwhile
    const t0 = Date.now();
    await fx.mint(watched, 5n);
    await until("the deposit", async () => (await depositCount()) === 1, 5_000);
    const ms = Date.now() - t0;
    assert.ok(ms < 2_000, `ingested after ${ms} ms (poll interval ${POLL} ms)`);
    await f.stop();

    // a WebSocket URL nobody listens on: the follower falls back to its poll
    const dead = `ws://127.0.0.1:${await freePort()}`;
    const g = make(dead, 100);
    await fx.mint(watched, 6n);
    await until("the deposit by polling", async () => (await depositCount()) === 2, 5_000);
    await g.stop();
    console.log(`new block ingested ${ms} ms after mining with wsUrl (poll interval ${POLL} ms)`);
  });
});
