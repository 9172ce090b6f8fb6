/**
 * Historical backfill over a few thousand blocks with a small forced chunk size, and the same history read
 * through an RPC fault proxy (failures, drops, hangs, delays, "too many results" for wide ranges): the
 * final state must equal the clean run's, row for row, through a reorg as well.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Address } from "viem";
import { createChainFollower, type ChainFollower, type CreateChainFollowerParameters } from "../src/chain/follower.js";
import type { Progress } from "../src/chain/historical.js";
import { listDeposits, listVaultEvents } from "../src/store/chain.js";
import type { Db } from "../src/store/db.js";
import { openStore } from "../src/store/open.js";
import { deployFixture, startFaultProxy, startHardhatNode, type FaultProxy, type Fixture, type HardhatNode } from "./chainHarness.js";

const ZERO = "0x0000000000000000000000000000000000000000";

let node: HardhatNode;
let fx: Fixture;
let cleanDb: Db;
let faultyDb: Db;
let proxy: FaultProxy;
const expected: { to: string; amount: bigint; source: string }[] = [];
let watched: Address[];

before(async () => {
  [node, cleanDb, faultyDb] = await Promise.all([
    startHardhatNode(),
    openStore({ pgliteDir: "memory://" }),
    openStore({ pgliteDir: "memory://" }),
  ]);
  fx = await deployFixture(node);
  watched = Array.from({ length: 20 }, (_, i) => fx.paymentAddress(100n + BigInt(i)));
  const unwatched = fx.paymentAddress(5000n);
  // ~3,000 blocks: 30 rounds of deposits (watched and not), each followed by 100 empty blocks
  for (let i = 0; i < 30; i++) {
    const a = watched[i % 20]!;
    await fx.mint(a, BigInt(i + 1));
    expected.push({ to: a, amount: BigInt(i + 1), source: "erc20" });
    await fx.mint(unwatched, 1n);
    const b = watched[(i + 3) % 20]!;
    await fx.send({ to: b, value: BigInt(1000 + i) });
    if (i === 10) await fx.write(fx.vault, fx.vaultAbi, "deployDepositAddresses", [[fx.paymentSalt(100n + 13n)]]);
    // watched[13] has code from round 10 on: its payments are LOG3s
    expected.push({ to: b, amount: BigInt(1000 + i), source: b === watched[13] && i > 10 ? "native_log" : "native_tx" });
    await fx.send({ to: unwatched, value: 5n });
    await fx.mine(100);
  }
  proxy = await startFaultProxy(node.url, {
    failRate: 0.08,
    dropRate: 0.04,
    hangRate: 0.004,
    delayRate: 0.2,
    maxDelayMs: 30,
    maxLogRange: 150,
    seed: 7,
  });
});

after(async () => {
  await proxy?.close();
  await cleanDb?.close().catch(() => {});
  await faultyDb?.close().catch(() => {});
  node?.stop();
});

function follower(db: Db, rpcUrl: string, extra: Partial<CreateChainFollowerParameters>): ChainFollower {
  const f = createChainFollower({
    db,
    chain: {
      chainId: 31337,
      rpcUrl,
      vault: fx.vault,
      tokens: [{ address: fx.token }, { address: ZERO }],
      confirmations: 2,
      startBlock: 0n,
    },
    ...extra,
  });
  f.watch(watched);
  return f;
}

/** Everything the follower derived, without ids and timestamps. */
async function state(db: Db) {
  const deposits = (await listDeposits(db, 31337)).map(({ id: _id, ...d }) => d);
  const events = (await listVaultEvents(db, 31337)).map(({ id: _id, ...e }) => e);
  const [cursor] = await db.query("SELECT block_number, block_hash, confirmed_number FROM chain_cursors");
  return { deposits, events, cursor };
}

async function catchUp(f: ChainFollower) {
  const head = await fx.blockNumber();
  for (let i = 0; i < 20; i++) if ((await f.tick()).tip >= head) return;
  assert.fail("follower did not reach the head");
}

describe("historical backfill and RPC faults", () => {
  let clean: ChainFollower;
  let faulty: ChainFollower;
  const confirmedTimes = new Map<string, number>();
  const hooks = {
    async onConfirmed(_tx: unknown, e: { deposits: { txHash: string; logIndex: number }[] }) {
      for (const d of e.deposits)
        confirmedTimes.set(`${d.txHash}:${d.logIndex}`, (confirmedTimes.get(`${d.txHash}:${d.logIndex}`) ?? 0) + 1);
    },
  };

  it("backfills ~3,000 blocks in 25-block chunks with progress, recording every watched deposit once", async () => {
    const progress: Progress[] = [];
    clean = follower(cleanDb, node.url, {
      hooks,
      chunk: { initial: 25, max: 25 },
      onProgress: (p) => progress.push(p),
      progressIntervalMs: 0,
    });
    await clean.init();
    const head = await fx.blockNumber();
    assert.ok(head >= 3000n, `history has ${head} blocks`);
    const t0 = performance.now();
    const r = await clean.tick();
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(r.tip, head);
    const { deposits } = await state(cleanDb);
    assert.deepEqual(
      deposits.map((d) => ({ to: d.to, amount: d.amount, source: d.source })),
      expected,
    );
    assert.ok(deposits.every((d) => d.status === "confirmed" || d.blockNumber > head - 2n));
    assert.ok(progress.length > 100, "progress reported per chunk");
    const last = progress[progress.length - 1]!;
    assert.equal(last.chunkSize, 25);
    assert.ok(last.blocksPerSecond > 0 && Number.isFinite(last.etaSeconds));
    console.log(`backfill: ${head} blocks in ${seconds.toFixed(1)} s (${Math.round(Number(head) / seconds)} blocks/s, native scan on)`);
  });

  it("reaches the same final state through a proxy that fails, drops, hangs and delays requests", async () => {
    faulty = follower(faultyDb, proxy.url, {
      chunk: { initial: 400, max: 800 },
      rpcOptions: { timeoutMs: 300, retry: { baseDelayMs: 5, maxDelayMs: 40 } },
    });
    await faulty.init();
    await catchUp(faulty);
    assert.deepEqual(await state(faultyDb), await state(cleanDb));
    assert.ok(proxy.stats.failed > 0 && proxy.stats.dropped > 0 && proxy.stats.hung > 0, JSON.stringify(proxy.stats));
    assert.ok(proxy.stats.tooLarge > 0, "the proxy refused wide getLogs ranges and the sync shrank");
  });

  it("stays equal through realtime blocks and a reorg read through the faulty proxy", async () => {
    await fx.mint(watched[1]!, 7n);
    await fx.send({ to: watched[2]!, value: 8n });
    await catchUp(clean);
    await catchUp(faulty);
    const snapshot = await node.rpc<string>("evm_snapshot");
    await fx.mint(watched[3]!, 999n);
    await catchUp(clean);
    await catchUp(faulty);
    await node.rpc("evm_revert", [snapshot]);
    await fx.mint(watched[4]!, 1000n);
    await fx.mine(3);
    await catchUp(clean);
    await catchUp(faulty);
    const s = await state(cleanDb);
    assert.deepEqual(await state(faultyDb), s);
    assert.ok(!s.deposits.some((d) => d.amount === 999n), "orphan rolled back");
    assert.ok(s.deposits.some((d) => d.amount === 1000n && d.status === "confirmed"));
    // every confirmed row was reported exactly once, whether backfilled (written at depth) or seen in realtime
    const confirmedRows = s.deposits.filter((d) => d.status === "confirmed").map((d) => `${d.txHash}:${d.logIndex}`);
    assert.deepEqual([...confirmedTimes.keys()].sort(), confirmedRows.sort());
    assert.ok([...confirmedTimes.values()].every((n) => n === 1));
    console.log(`fault proxy: ${JSON.stringify(proxy.stats)}`);
  });
});
