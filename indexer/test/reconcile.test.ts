/**
 * Reconciliation against a real `hardhat node`: the vault is deployed, a deposit address is paid in
 * USDT and ETH, swept, a withdrawal is paid out and fees are claimed; the chain follower fills
 * chain_vault_events and chain_deposits; the gateway's rows are written as the order modules would.
 * Clean books reconcile to nothing (CLI exit 0); a tampered row, native coin the follower could not
 * see, or an unrecorded payout is reported (CLI exit 1).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import type { Address } from "viem";
import { createChainFollower, type ChainFollower } from "../src/chain/follower.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { createOrderHooks } from "../src/ingest/index.js";
import { collectReconciliation, compareReconciliation, formatMismatches, type ReconcileInput } from "../src/jobs/reconcile.js";
import type { Db } from "../src/store/db.js";
import { createMerchant } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";
import { deployFixture, startHardhatNode, type Fixture, type HardhatNode } from "./chainHarness.js";

const ZERO = "0x0000000000000000000000000000000000000000";
const MASTER = "11".repeat(32);
const run = promisify(execFile);

let node: HardhatNode;
let fx: Fixture;
let db: Db;
let follower: ChainFollower;
const dir = mkdtempSync(join(tmpdir(), "gw-reconcile-"));
const env = { ...process.env, PGLITE_DIR: join(dir, "pglite"), GATEWAY_MASTER_KEY: MASTER, GATEWAY_CONFIG: join(dir, "config.json") };
const open = () => openStore({ pgliteDir: env.PGLITE_DIR });

/** The follower with the order hooks; the balance safety net off unless `net` (so what it would find shows here). */
function makeFollower(startBlock?: bigint, net = false) {
  return createChainFollower({
    db,
    chain: {
      chainId: 31337,
      rpcUrl: node.url,
      vault: fx.vault,
      tokens: [{ address: fx.token }, { address: ZERO }],
      confirmations: 1,
      startBlock,
      balancePoll: net ? { cycleMs: 0 } : { hot: false, cycleMs: 0 },
    },
    rpcOptions: { retry: { baseDelayMs: 10 } },
    hooks: createOrderHooks({ poolCooldownSeconds: 60 }),
  });
}
async function sync() {
  await follower.tick();
  await follower.tick();
}
const input = (): Promise<ReconcileInput> =>
  collectReconciliation({ db, client: fx.publicClient, chainId: 31337, vault: fx.vault, tokens: [fx.token, ZERO] });
const cli = (args: string[] = []) =>
  run(process.execPath, ["--import", "tsx", "indexer/src/cli/reconcile.ts", ...args], { env, cwd: process.cwd() }).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout + e.stderr }),
  );

let userId: string;
let payoutId = 0n;
/** A withdrawal application (migration 010's `withdrawals`) of one line, as `withdraw/apply` stores it. */
async function application(token: Address): Promise<string> {
  const [r] = await db.query(
    "INSERT INTO withdrawals (merchant_id, request_hash, chain_id, token_address) VALUES (1, 'h', 31337, $1) RETURNING id::text AS id",
    [token.toLowerCase()],
  );
  return r!.id;
}
async function payout(to: Address, amount: bigint, record: boolean, token: Address = fx.token) {
  const id = ++payoutId;
  const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600);
  const p = { merchantId: 1n, kind: 1, token, to, amount, payoutId: id, deadline };
  const { transactionHash } = await fx.write(fx.vault, fx.vaultAbi, "payoutByMerchant", [p], fx.admin);
  if (record) {
    await db.query(
      `INSERT INTO withdrawal_orders (id, merchant_id, user_id, merchant_withdraw_id, request_hash, chain_id, token_address, amount, to_address, status, payout_id, tx_hash, withdraw_id, line_no)
       VALUES ($1, 1, $2, $1, 'h', 31337, $3, $4, $5, 3, $6, $7, $8, 1)`,
      [`w-${id}`, userId, token.toLowerCase(), amount, to.toLowerCase(), id, transactionHash, await application(token)],
    );
  }
  return id;
}

before(async () => {
  [node, db] = await Promise.all([startHardhatNode(), open()]);
  fx = await deployFixture(node);
  writeFileSync(
    env.GATEWAY_CONFIG,
    JSON.stringify({
      chains: [
        {
          chainId: 31337,
          code: "local",
          name: "Hardhat",
          vault: fx.vault,
          rpcUrl: node.url,
          confirmations: 1,
          tokens: [
            { symbol: "USDT", address: fx.token, decimals: 6 },
            { symbol: "ETH", address: ZERO, decimals: 18 },
          ],
        },
      ],
    }),
  );
  await createMerchant(db, createSecretBox(Buffer.from(MASTER, "hex")), { name: "Shop", id: 1n, feeBps: 100, payoutSigner: fx.admin });
  const A = fx.paymentAddress(0n);
  await db.query("INSERT INTO address_pool_counters (merchant_id, chain_id, next_index) VALUES (1, 31337, 1)");
  await db.query("INSERT INTO address_pool (merchant_id, chain_id, pool_index, address) VALUES (1, 31337, 0, $1)", [A]);
  const [u] = await db.query("INSERT INTO users (merchant_id, user_no, uuid) VALUES (1, 1, 'u1') RETURNING id::text AS id");
  userId = u!.id;
  follower = makeFollower((await fx.blockNumber()) + 1n);
  await follower.init();

  // payments in, one sweep of each token (deploying the address), a payout, a fee claim, and a later
  // unswept deposit that stays at the address
  await fx.mint(A, 10_000_000n);
  await fx.send({ to: A, value: 10n ** 18n });
  await fx.write(fx.vault, fx.vaultAbi, "deployDepositAddresses", [[fx.paymentSalt(0n)]]);
  await fx.write(fx.vault, fx.vaultAbi, "sweep", [fx.token, [fx.paymentSalt(0n)], []]);
  await fx.write(fx.vault, fx.vaultAbi, "sweep", [ZERO, [fx.paymentSalt(0n)], []]);
  await payout(fx.accounts[3]!, 2_000_000n, true);
  await fx.write(fx.vault, fx.vaultAbi, "claimFees", [fx.token, [1n]]);
  await fx.mint(A, 500n);
  await fx.write(fx.vault, fx.vaultAbi, "sweep", [ZERO, [fx.paymentSalt(0n)], []]).catch(() => {}); // nothing to sweep: reverts or no-op
  await fx.send({ to: A, value: 7n });
  await sync();
});
after(async () => {
  await db?.close().catch(() => {});
  node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("reconcile on hardhat node", () => {
  it("clean books: no mismatch in-process, and the CLI exits 0", async () => {
    const i = await input();
    assert.equal(i.accounts.get(`1:${fx.token.toLowerCase()}`)?.balance, 10_000_000n - 100_000n - 2_000_000n, "1% fee, one payout");
    assert.equal(i.accounts.get(`1:${fx.token.toLowerCase()}`)?.fees, 0n, "claimed");
    assert.equal(i.accounts.get(`1:${ZERO}`)?.fees, 10n ** 16n);
    assert.equal(i.heldAtDepositAddresses.get(`1:${fx.token.toLowerCase()}`), 500n, "the unswept deposit is still at the address");
    assert.equal(i.heldAtDepositAddresses.get(`1:${ZERO}`), 7n);
    assert.equal(i.payoutEvents.length, 1);
    assert.deepEqual(compareReconciliation(i), []);
    await db.close();
    const r = await cli();
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /no mismatches/);
    db = await open();
    follower = makeFollower();
    await follower.init();
  });

  it("a tampered ledger row is reported", async () => {
    await db.query("UPDATE withdrawal_orders SET amount = amount + 1 WHERE id = 'w-1'");
    try {
      const m = compareReconciliation(await input());
      assert.deepEqual(
        m.map((x) => x.check),
        ["payout"],
      );
      assert.match(m[0]!.detail, /withdrawal w-1 .* differs from its PayoutExecuted/);
    } finally {
      await db.query("UPDATE withdrawal_orders SET amount = amount - 1 WHERE id = 'w-1'");
    }
    // a vault event row edited in the store: balance and fee no longer match the chain
    await db.query(
      "UPDATE chain_vault_events SET args = jsonb_set(args, '{fee}', '\"200000\"') WHERE name = 'Swept' AND args->>'token' = $1",
      [fx.token.toLowerCase()],
    );
    try {
      const m = compareReconciliation(await input());
      assert.deepEqual(m.map((x) => x.check).sort(), ["balance"], formatMismatches(m));
      assert.equal(m[0]!.gateway, String(10_000_000n - 200_000n - 2_000_000n));
      assert.equal(m[0]!.chain, String(10_000_000n - 100_000n - 2_000_000n));
    } finally {
      await db.query(
        "UPDATE chain_vault_events SET args = jsonb_set(args, '{fee}', '\"100000\"') WHERE name = 'Swept' AND args->>'token' = $1",
        [fx.token.toLowerCase()],
      );
    }
    // a payout marked success that never happened on chain
    await db.query(
      `INSERT INTO withdrawal_orders (id, merchant_id, user_id, merchant_withdraw_id, request_hash, chain_id, token_address, amount, to_address, status, payout_id, withdraw_id, line_no)
       VALUES ('w-ghost', 1, $1, 'w-ghost', 'h', 31337, $2, 5, $3, 3, 99, $4, 1)`,
      [userId, fx.token.toLowerCase(), fx.accounts[3]!.toLowerCase(), await application(fx.token)],
    );
    try {
      const m = compareReconciliation(await input());
      assert.equal(m.length, 1);
      assert.match(m[0]!.detail, /w-ghost .* marked success but never paid on chain/);
    } finally {
      await db.query("DELETE FROM withdrawal_orders WHERE id = 'w-ghost'");
    }
    // a deposit row the follower never wrote: the address holds less than the books say
    await db.query("UPDATE chain_deposits SET amount = amount + 3 WHERE token = $1 AND amount = 500", [fx.token.toLowerCase()]);
    try {
      const m = compareReconciliation(await input());
      assert.deepEqual(
        m.map((x) => [x.check, x.gateway, x.chain]),
        [
          ["deposits", "503", "500"],
          ["address", "503", "500"],
        ],
      );
    } finally {
      await db.query("UPDATE chain_deposits SET amount = amount - 3 WHERE token = $1 AND amount = 503", [fx.token.toLowerCase()]);
    }
    assert.deepEqual(compareReconciliation(await input()), [], "restored");

    // an open payout the vault skipped (its id unused, reserved until its deadline) is reported
    const clean = await input();
    const skipped = {
      kind: "refund" as const,
      id: "r-skipped",
      merchantId: "1",
      payoutId: "99",
      token: ZERO,
      to: fx.accounts[5]!.toLowerCase(),
      amount: 3n,
      txHash: null,
    };
    const m = compareReconciliation({
      ...clean,
      payoutRecords: [...clean.payoutRecords, { ...skipped, status: 1, skipReason: "VaultInsufficientBalance" }],
    });
    assert.deepEqual(
      m.map((x) => [x.check, x.chain]),
      [["payout", "skipped, not paid"]],
      formatMismatches(m),
    );
    assert.match(m[0]!.detail, /refund r-skipped \(payout id 99\) was skipped by the vault \(VaultInsufficientBalance\)/);
    const closed = compareReconciliation({
      ...clean,
      payoutRecords: [...clean.payoutRecords, { ...skipped, status: -2, skipReason: "VaultInsufficientBalance" }],
    });
    assert.deepEqual(closed, [], "a failed one is closed: nothing to report");
  });

  it("native coin at a handed-out address the follower did not see is reported; the balance net then finds it and the books are clean", async () => {
    // a recharge address with no recorded deposit; give it a balance without any transaction to it (as an
    // internal transfer or a block reward would), with the balance net off
    const C = fx.paymentAddress(77n);
    await db.query("INSERT INTO user_wallets (user_id, chain_id, address) VALUES ($1, 31337, $2)", [userId, C]);
    await node.rpc("hardhat_setBalance", [C, "0x5"]);
    await node.rpc("evm_mine");
    await sync();
    let m = compareReconciliation(await input());
    assert.deepEqual(
      m.map((x) => [x.check, x.token, x.gateway, x.chain]),
      [
        ["deposits", ZERO, "7", "12"],
        ["address", ZERO, "0", "5"],
      ],
      formatMismatches(m),
    );
    assert.match(m[0]!.detail, /a deposit was not recorded/);
    assert.match(m[1]!.detail, new RegExp(`${C.toLowerCase()} holds 5 that no recorded deposit explains`));

    // the balance net (the user is new, so its address is read every block) records it: a recharge
    follower = makeFollower(undefined, true);
    await follower.init();
    await node.rpc("evm_mine");
    await sync();
    const [r] = await db.query("SELECT amount, status, tx_hash FROM recharge_orders WHERE to_address = $1", [C.toLowerCase()]);
    assert.deepEqual([r?.amount, Number(r?.status), String(r?.tx_hash).startsWith("balance:")], ["5", 4, true]);
    const i = await input();
    m = compareReconciliation(i);
    assert.deepEqual(m, [], formatMismatches(m));
    assert.equal(i.foundByBalance?.count, 1);
    assert.equal(i.foundByBalance?.unmatched.get(`1:${ZERO}`), 5n, "no transaction explains it");

    // a balance-found deposit that claims more absorbed than it has, and a deposit no order logic recorded
    await db.query("UPDATE chain_deposits SET absorbed_amount = 1 WHERE source = 'balance'");
    await db.query("DELETE FROM recharge_orders WHERE to_address = $1", [C.toLowerCase()]);
    try {
      m = compareReconciliation(await input());
      assert.deepEqual(m.map((x) => x.check).sort(), ["absorbed", "credited"], formatMismatches(m));
    } finally {
      await db.query("UPDATE chain_deposits SET absorbed_amount = 0 WHERE source = 'balance'");
      await db.query(
        `INSERT INTO recharge_orders (id, merchant_id, user_id, chain_id, token_address, amount, status, from_address, to_address, tx_hash, log_index, block_number, block_hash)
         SELECT 'r-restored', 1, $1, chain_id, token, amount, 4, from_address, to_address, tx_hash, log_index, block_number, block_hash FROM chain_deposits WHERE source = 'balance'`,
        [userId],
      );
    }
    assert.deepEqual(compareReconciliation(await input()), [], "restored");
  });

  it("an on-chain payout the gateway did not record is reported, and the CLI exits 1 with the table", async () => {
    await payout(fx.accounts[4]!, 1_000_000n, false);
    await sync();
    const m = compareReconciliation(await input());
    assert.equal(m.length, 1, formatMismatches(m));
    assert.equal(m[0]!.check, "payout");
    assert.match(m[0]!.detail, /payout id 2\) matches no refund, withdrawal or settlement/);
    await db.close();
    const r = await cli(["--merchant", "1"]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /merchant\s+token\s+check/);
    assert.match(r.stdout, /USDT\s+payout\s+no order/);
    const bad = await cli(["--chain", "5"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stdout, /chain 5 is not configured/);
    db = await open();
  });
});
