/**
 * Chain follower against a real `hardhat node` (automine on: one transaction per block):
 * deposits recorded once, LOG3 vs transaction view, reorgs, confirmations, restart.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Address } from "viem";
import { createChainFollower, type ChainFollowerHooks, type CreateChainFollowerParameters } from "../src/chain/follower.js";
import { DeepReorgError } from "../src/chain/errors.js";
import { listDeposits, listVaultEvents, type StoredDeposit } from "../src/store/chain.js";
import type { Db } from "../src/store/db.js";
import { openStore } from "../src/store/open.js";
import { deployFixture, startHardhatNode, type Fixture, type HardhatNode } from "./chainHarness.js";

const ZERO = "0x0000000000000000000000000000000000000000";
const ETH = 10n ** 18n;

let node: HardhatNode;
let fx: Fixture;
let shared: Db;

before(async () => {
  [node, shared] = await Promise.all([startHardhatNode(), openStore({ pgliteDir: "memory://" })]);
  fx = await deployFixture(node);
});
after(async () => {
  await shared?.close().catch(() => {});
  node?.stop();
});

/** One PGlite per file (opening one costs seconds); each test starts from empty tables. */
async function freshDb(): Promise<Db> {
  await shared.query(
    "TRUNCATE chain_cursors, chain_blocks, chain_deposits, chain_vault_events, address_pool, address_pool_counters, merchants CASCADE",
  );
  return shared;
}

type Recorded = { seen: StoredDeposit[]; confirmed: StoredDeposit[]; reorged: StoredDeposit[]; confirmedEvents: string[] };
function recorder(): { hooks: ChainFollowerHooks; rec: Recorded } {
  const rec: Recorded = { seen: [], confirmed: [], reorged: [], confirmedEvents: [] };
  return {
    rec,
    hooks: {
      async onSeen(_tx, e) {
        rec.seen.push(...e.deposits);
      },
      async onConfirmed(_tx, e) {
        rec.confirmed.push(...e.deposits);
        rec.confirmedEvents.push(...e.vaultEvents.map((v) => v.name));
      },
      async onReorg(_tx, e) {
        rec.reorged.push(...e.deposits);
      },
    },
  };
}

async function follower(db: Db, confirmations: number, hooks: ChainFollowerHooks, extra: Partial<CreateChainFollowerParameters> = {}) {
  const f = createChainFollower({
    db,
    chain: {
      chainId: 31337,
      rpcUrl: node.url,
      vault: fx.vault,
      tokens: [{ address: fx.token }, { address: ZERO }],
      confirmations,
      startBlock: (await fx.blockNumber()) + 1n,
    },
    rpcOptions: { retry: { baseDelayMs: 10 } },
    hooks,
    ...extra,
  });
  await f.init();
  return f;
}

const key = (d: StoredDeposit) => `${d.txHash}:${d.logIndex}`;
const summary = (ds: StoredDeposit[]) => ds.map((d) => ({ to: d.to, token: d.token, amount: d.amount, source: d.source, from: d.from }));

describe("chain follower on hardhat node", () => {
  it("records ERC-20 and native deposits to watched addresses once, with the right amounts, and ignores the rest", async () => {
    const db = await freshDb();
    const [A, B, U, L] = [fx.paymentAddress(1n), fx.paymentAddress(2n), fx.paymentAddress(99n), fx.paymentAddress(3n)];
    // A and B come from the store's address pool (as the API writes them), L is leased later
    await db.query("INSERT INTO merchants (id, name, webhook_secret_enc) VALUES (1, 'm', '\\x00')");
    await db.query("INSERT INTO address_pool_counters (merchant_id, chain_id, next_index) VALUES (1, 31337, 2)");
    await db.query("INSERT INTO address_pool (merchant_id, chain_id, pool_index, address) VALUES (1, 31337, 0, $1), (1, 31337, 1, $2)", [
      A,
      B,
    ]);
    await fx.mint(fx.admin, 1_000n);
    const { hooks, rec } = recorder();
    const f = await follower(db, 1, hooks);
    assert.equal(f.watched.size, 2);

    const m1 = await fx.mint(A, 1_000_000n);
    await fx.mint(U, 5n);
    const t1 = await fx.write(fx.token, fx.tokenAbi, "transfer", [B, 250n], fx.admin);
    const n1 = await fx.send({ to: A, value: 3n * ETH });
    await fx.send({ to: U, value: ETH });
    await fx.send({ to: A, value: 0n }); // a zero-value transaction is no deposit
    // the API leases a new address: the next tick loads it from the store before reading blocks
    await db.query("UPDATE address_pool_counters SET next_index = 3");
    await db.query("INSERT INTO address_pool (merchant_id, chain_id, pool_index, address) VALUES (1, 31337, 2, $1)", [L]);
    const n2 = await fx.send({ to: L, value: 7n });

    const r = await f.tick();
    assert.equal(r.deposits, 4);
    assert.equal(f.watched.size, 3);
    const rows = await listDeposits(db, 31337);
    assert.deepEqual(summary(rows), [
      { to: A, token: fx.token.toLowerCase(), amount: 1_000_000n, source: "erc20", from: ZERO },
      { to: B, token: fx.token.toLowerCase(), amount: 250n, source: "erc20", from: fx.admin.toLowerCase() },
      { to: A, token: ZERO, amount: 3n * ETH, source: "native_tx", from: fx.payer.toLowerCase() },
      { to: L, token: ZERO, amount: 7n, source: "native_tx", from: fx.payer.toLowerCase() },
    ]);
    assert.equal(rows[0]!.txHash, m1.transactionHash);
    assert.equal(rows[0]!.blockNumber, m1.blockNumber);
    assert.equal(rows[1]!.txHash, t1.transactionHash);
    assert.equal(rows[2]!.txHash, n1.transactionHash);
    assert.equal(rows[2]!.logIndex, -1);
    assert.equal(rows[3]!.txHash, n2.transactionHash);
    assert.ok(
      rows.every((d) => d.status === "confirmed"),
      "confirmations = 1: confirmed once included",
    );

    await fx.mine(2);
    await f.tick();
    await f.tick();
    assert.equal((await listDeposits(db, 31337)).length, 4, "no duplicates on later ticks");
    assert.deepEqual(rec.seen.map(key).sort(), rows.map(key).sort());
    assert.deepEqual(rec.confirmed.map(key).sort(), rows.map(key).sort(), "each reported confirmed exactly once");
  });

  it("records a payment to a deposit address with code once, from its LOG3, and the vault's events", async () => {
    const db = await freshDb();
    const A = fx.paymentAddress(10n);
    const { hooks, rec } = await recorder();
    const f = await follower(db, 1, hooks);
    f.watch([A]);
    await fx.send({ to: A, value: ETH }); // before deployment: a plain transaction
    await fx.write(fx.vault, fx.vaultAbi, "deployDepositAddresses", [[fx.paymentSalt(10n)]]);
    assert.notEqual(await fx.publicClient.getCode({ address: A }), undefined);
    const paid = await fx.send({ to: A, value: 2n * ETH }); // with code: LOG3(vault, sender, value)
    const failed = await fx.send({ to: A, value: 5n * ETH, gas: 21_000n }); // too little gas for the LOG3: reverts, moves nothing
    assert.equal(failed.status, "0x0");
    await fx.write(fx.vault, fx.vaultAbi, "sweep", [ZERO, [fx.paymentSalt(10n)], []]);
    await f.tick();

    const rows = await listDeposits(db, 31337);
    assert.deepEqual(
      rows.map((d) => [d.source, d.amount]),
      [
        ["native_tx", ETH],
        ["native_log", 2n * ETH],
      ],
    );
    const log = rows[1]!;
    assert.equal(log.txHash, paid.transactionHash);
    assert.ok(log.logIndex >= 0);
    assert.equal(log.from, fx.payer.toLowerCase());
    assert.equal(rows.filter((d) => d.txHash === paid.transactionHash).length, 1, "the LOG3 and the transaction view are one row");

    const events = await listVaultEvents(db, 31337);
    assert.deepEqual(
      events.map((e) => e.name),
      ["DepositAddressDeployed", "NativeSwept", "Swept"],
    );
    assert.equal(events[0]!.args.depositAddress, A);
    assert.equal(events[1]!.args.amount, (3n * ETH).toString());
    assert.equal(events[2]!.args.merchantId, "1");
    assert.deepEqual(rec.confirmedEvents, ["DepositAddressDeployed", "NativeSwept", "Swept"]);
  });

  it("counts confirmations: a deposit is confirmed only at depth N, and reported once", async () => {
    const db = await freshDb();
    const A = fx.paymentAddress(20n);
    const { hooks, rec } = recorder();
    const f = await follower(db, 3, hooks);
    f.watch([A]);
    const m = await fx.mint(A, 42n);
    await f.tick();
    assert.equal(rec.seen.length, 1);
    assert.equal(rec.confirmed.length, 0, "depth 1 of 3");
    await fx.mine(1);
    await f.tick();
    assert.equal(rec.confirmed.length, 0, "depth 2 of 3");
    assert.equal((await listDeposits(db, 31337))[0]!.status, "seen");
    await fx.mine(1);
    const r = await f.tick();
    assert.equal(r.confirmed, m.blockNumber, "the boundary is head - 3 + 1");
    assert.equal(rec.confirmed.length, 1, "depth 3 of 3");
    assert.equal(rec.confirmed[0]!.amount, 42n);
    await fx.mine(5);
    await f.tick();
    assert.equal(rec.confirmed.length, 1, "never twice");
    assert.equal((await listDeposits(db, 31337))[0]!.status, "confirmed");
  });

  it("rolls back a reorged deposit (evm_snapshot/evm_revert, a different block at the same height) and never confirms it", async () => {
    const db = await freshDb();
    const [A, B] = [fx.paymentAddress(30n), fx.paymentAddress(31n)];
    const { hooks, rec } = recorder();
    const f = await follower(db, 3, hooks);
    f.watch([A, B]);
    await fx.mint(B, 1n); // survives the reorg
    await f.tick();

    const snapshot = await node.rpc<string>("evm_snapshot");
    const orphan = await fx.mint(A, 500n);
    await f.tick();
    assert.deepEqual(
      (await listDeposits(db, 31337)).map((d) => d.amount),
      [1n, 500n],
    );

    await node.rpc("evm_revert", [snapshot]);
    const other = await fx.mint(fx.paymentAddress(999n), 3n); // another block at the orphan's height
    assert.equal(other.blockNumber, orphan.blockNumber);
    const canonical = await node.rpc<{ hash: string }>("eth_getBlockByNumber", [`0x${other.blockNumber.toString(16)}`, false]);
    const r = await f.tick();
    assert.equal(r.reorgs, 1);
    assert.deepEqual(
      rec.reorged.map((d) => d.txHash),
      [orphan.transactionHash],
      "the orphan is reported as removed",
    );
    assert.deepEqual(
      (await listDeposits(db, 31337)).map((d) => d.amount),
      [1n],
      "orphan gone, the older deposit kept",
    );
    const [cursor] = await db.query("SELECT block_number, block_hash FROM chain_cursors WHERE chain_id = 31337");
    assert.equal(BigInt(cursor!.block_number), other.blockNumber);
    assert.equal(cursor!.block_hash, canonical.hash, "the follower ends on the new chain");

    // a deeper reorg (two blocks replaced by three), then enough blocks to confirm everything
    const snap2 = await node.rpc<string>("evm_snapshot");
    await fx.mint(A, 600n);
    await fx.mint(A, 601n);
    await f.tick();
    await node.rpc("evm_revert", [snap2]);
    const replay = await fx.mint(A, 602n);
    await fx.mine(2);
    const r2 = await f.tick();
    assert.equal(r2.reorgs, 1);
    await fx.mine(5);
    await f.tick();
    const rows = await listDeposits(db, 31337);
    assert.deepEqual(
      rows.map((d) => [d.amount, d.status]),
      [
        [1n, "confirmed"],
        [602n, "confirmed"],
      ],
    );
    assert.equal(rows[1]!.txHash, replay.transactionHash);
    assert.deepEqual(rec.confirmed.map((d) => d.amount).sort(), [1n, 602n], "no orphan ever confirmed");
  });

  it("fails loudly when a reorg would remove a deposit already reported confirmed", async () => {
    const db = await freshDb();
    const A = fx.paymentAddress(40n);
    const f = await follower(db, 1, {});
    f.watch([A]);
    const snapshot = await node.rpc<string>("evm_snapshot");
    await fx.mint(A, 9n);
    await f.tick();
    assert.equal((await listDeposits(db, 31337))[0]!.status, "confirmed");
    await node.rpc("evm_revert", [snapshot]);
    await fx.mine(2);
    await assert.rejects(f.tick(), DeepReorgError);
    assert.equal((await listDeposits(db, 31337)).length, 1, "nothing rolled back");
  });

  it("resumes from the persisted cursor after a crash mid-write: nothing lost, nothing twice", async () => {
    const db = await freshDb();
    const [A, B] = [fx.paymentAddress(50n), fx.paymentAddress(51n)];
    const start = (await fx.blockNumber()) + 1n;
    let crashes = 1;
    const first = await follower(db, 2, {
      async onSeen(_tx, e) {
        if (e.deposits.some((d) => d.amount === 2n) && crashes-- > 0) throw new Error("simulated crash");
      },
    });
    first.watch([A, B]);
    await fx.mint(A, 1n);
    await fx.mint(B, 2n); // the write of this block fails
    await fx.send({ to: A, value: 3n });
    await assert.rejects(first.tick(), /simulated crash/);
    assert.deepEqual(
      (await listDeposits(db, 31337)).map((d) => d.amount),
      [1n],
      "the failed block left nothing",
    );
    await first.stop();

    const { hooks, rec } = recorder();
    const second = createChainFollower({
      db,
      chain: {
        chainId: 31337,
        rpcUrl: node.url,
        vault: fx.vault,
        tokens: [{ address: fx.token }, { address: ZERO }],
        confirmations: 2,
        startBlock: start,
      },
      hooks,
      pollIntervalMs: 20,
    });
    await second.init();
    second.watch([A, B]);
    await fx.mint(B, 4n);
    await second.tick();
    await fx.mine(3);
    await second.tick();
    await second.tick();
    const rows = await listDeposits(db, 31337);
    assert.deepEqual(
      rows.map((d) => d.amount),
      [1n, 2n, 3n, 4n],
    );
    assert.equal(new Set(rows.map(key)).size, 4);
    assert.deepEqual(
      rec.seen.map((d) => d.amount),
      [2n, 3n, 4n],
      "the restart re-read only what was not written",
    );
    assert.deepEqual(
      rec.confirmed.map((d) => d.amount),
      [1n, 2n, 3n, 4n],
    );
  });

  it("waits for the RPC's finalized block when configured so (hardhat: finalized = latest)", async () => {
    const db = await freshDb();
    const A = fx.paymentAddress(70n);
    const { hooks, rec } = recorder();
    const f = createChainFollower({
      db,
      chain: {
        chainId: 31337,
        rpcUrl: node.url,
        vault: fx.vault,
        tokens: [{ address: fx.token }],
        confirmations: 12,
        finality: "finalized",
        startBlock: (await fx.blockNumber()) + 1n,
      },
      hooks,
    });
    await f.init();
    f.watch([A]);
    const m = await fx.mint(A, 5n);
    const r = await f.tick();
    assert.equal(r.confirmed, m.blockNumber, "the finalized block, not head - 12 + 1");
    assert.deepEqual(
      rec.confirmed.map((d) => d.amount),
      [5n],
    );
  });

  it("runs as a loop: run() polls, stop() ends it", async () => {
    const db = await freshDb();
    const A = fx.paymentAddress(60n) as Address;
    const { hooks, rec } = recorder();
    const f = await follower(db, 1, hooks, { pollIntervalMs: 20 });
    f.watch([A]);
    const running = f.run();
    await fx.mint(A, 77n);
    const deadline = Date.now() + 5_000;
    while (rec.confirmed.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await f.stop();
    await running;
    assert.deepEqual(
      rec.confirmed.map((d) => d.amount),
      [77n],
    );
  });
});
