import { encodeFunctionData, getAddress, type Address } from "viem";
import type { Db } from "../store/db.js";
import { PayoutStatus } from "../domain/orderStateMachine.js";
import {
  listExecutableBatches,
  listExecutablePayouts,
  markBatchBroadcast,
  markBatchFailed,
  markPayoutBroadcast,
  markPayoutFailed,
  type ExecutableBatch,
  type ExecutablePayout,
} from "../store/payoutOrders.js";
import type { OperatorWallet } from "./operatorWallet.js";
import { NEVER_PAYABLE_ERRORS, VAULT_CALLS_ABI, vaultErrorName } from "./vaultCalls.js";

export type CreatePayoutExecutorParameters = {
  db: Db;
  chainId: number;
  vault: Address;
  wallet: OperatorWallet;
  /** payouts looked at per pass (default 20) */
  batch?: number;
  logger?: { info(o: object): void; warn(o: object): void };
};

/** What a pass did with each payout; `batchId` when it went (or waits to go) in a batch transaction. */
export type PayoutOutcome = (
  | { id: string; kind: string; outcome: "sent"; txHash: string }
  | { id: string; kind: string; outcome: "failed"; reason: string }
  /** stays approved and is tried again next pass (e.g. the merchant's vault balance is short) */
  | { id: string; kind: string; outcome: "waiting"; reason: string }
  /** the vault already paid this id: the follower settles the order from the PayoutExecuted event */
  | { id: string; kind: string; outcome: "already_paid" }
) & { batchId?: string };

export type PayoutExecutor = {
  runOnce(): Promise<PayoutOutcome[]>;
};

/**
 * Vault errors after which the same signed payout can never succeed. Not the signature, merchant or token
 * errors: the signer can be changed back (setMerchantSigner), an ERC-1271 signer can start approving, a
 * merchant can be registered; until its deadline the signature may then pay it, so it waits instead.
 */
const FINAL_ERRORS = new Set(["VaultPayoutExpired", ...NEVER_PAYABLE_ERRORS]);

/**
 * Executes approved, merchant-signed refunds, withdrawals and settlements as `vault.payout(p, signature)`,
 * relayed by the operator (who cannot change a signed field). Each payout is simulated first: a vault error
 * that can never pass fails the order with its reason; a short balance keeps it approved for a later pass.
 * Success is not decided here: the follower settles the order when `PayoutExecuted` reaches the required
 * depth. The vault's payout-id replay protection makes a second send harmless; the executor also checks
 * `isPayoutIdUsed` and never signs a payout twice while its first transaction is pending.
 */
export function createPayoutExecutor(args: CreatePayoutExecutorParameters): PayoutExecutor {
  const { db, chainId, vault, wallet, batch = 20, logger } = args;
  const client = wallet.publicClient;

  async function execute(p: ExecutablePayout): Promise<PayoutOutcome> {
    const base = { id: p.id, kind: p.kind };
    const now = BigInt(Math.floor(Date.now() / 1000));
    if (p.deadline < now) {
      await markPayoutFailed(db, p.kind, p.id, `the signed payout expired at ${new Date(Number(p.deadline) * 1000).toISOString()}`);
      return { ...base, outcome: "failed", reason: "deadline passed" };
    }
    const used = await client.readContract({
      address: vault,
      abi: VAULT_CALLS_ABI,
      functionName: "isPayoutIdUsed",
      args: [p.merchantId, p.payoutId],
    });
    if (used) return { ...base, outcome: "already_paid" };
    const data = encodeFunctionData({
      abi: VAULT_CALLS_ABI,
      functionName: "payout",
      args: [{ ...p.payout, kind: Number(p.payout.kind) }, p.signature],
    });
    let gas: bigint;
    try {
      gas = await client.estimateGas({ account: wallet.address, to: vault, data });
    } catch (e) {
      const name = vaultErrorName(e) ?? "unknown revert";
      if (name === "VaultPayoutIdUsed") return { ...base, outcome: "already_paid" };
      if (FINAL_ERRORS.has(name)) {
        await markPayoutFailed(db, p.kind, p.id, `the vault refuses this payout: ${name}`);
        return { ...base, outcome: "failed", reason: name };
      }
      logger?.warn({ msg: "payout not executable yet", chain_id: chainId, kind: p.kind, id: p.id, reason: name });
      return { ...base, outcome: "waiting", reason: name };
    }
    const txHash = await wallet.send({ to: vault, data, gas: (gas * 12n) / 10n, purpose: "payout", refId: p.id, refKind: p.kind });
    await markPayoutBroadcast(db, p.kind, p.id, txHash);
    logger?.info({ msg: "payout sent", chain_id: chainId, kind: p.kind, id: p.id, payout_id: p.payoutId.toString(), tx_hash: txHash });
    return { ...base, outcome: "sent", txHash };
  }

  /**
   * Sends an approved batch as one `vault.payoutBatch(batch, signature)` with every signed item (the
   * signature covers them all; an item already paid is skipped by its used id). The vault reverts only for
   * the batch as a whole (signature, deadline, pause): a final reason fails every open line, anything else
   * waits. An item it cannot pay is reported with PayoutSkipped: the follower (hooks.ts) fails it only if it
   * can never be paid, else puts it back to approved and the batch is sent again after its retry time
   * (payout_batches.retry_after). A batch whose lines' balance is short waits, as a single payout does,
   * until its deadline fails it.
   */
  async function executeBatch(b: ExecutableBatch): Promise<PayoutOutcome[]> {
    const open = b.lines.filter((l) => l.status === PayoutStatus.Approved);
    const each = <T extends object>(o: T) => open.map((l) => ({ id: l.id, kind: l.kind, batchId: b.id, ...o }));
    // a line already sent: the wallet finishes (or drops) that transaction first
    if (b.lines.some((l) => l.status === PayoutStatus.Broadcast)) return [];
    const now = BigInt(Math.floor(Date.now() / 1000));
    if (b.deadline < now) {
      await markBatchFailed(db, b.id, `the signed payout batch expired at ${new Date(Number(b.deadline) * 1000).toISOString()}`);
      return each({ outcome: "failed" as const, reason: "deadline passed" });
    }
    // Sending the batch as signed must never pay a line the gateway has closed: a closed line whose id the vault
    // still holds unused ends the batch; a cancelled id, or an item the vault can never pay (zero amount, zero
    // address or the vault as recipient: failed at once from its PayoutSkipped), is only skipped again.
    const neverPayable = (l: (typeof b.lines)[number]) =>
      l.amount === 0n || BigInt(l.toAddress) === 0n || getAddress(l.toAddress) === getAddress(vault);
    for (const l of b.lines.filter((x) => (x.status === PayoutStatus.Failed || x.status === PayoutStatus.Rejected) && !neverPayable(x))) {
      const used = await client.readContract({
        address: vault,
        abi: VAULT_CALLS_ABI,
        functionName: "isPayoutIdUsed",
        args: [b.merchantId, l.payoutId],
      });
      if (!used) {
        // The open lines are not failed: the batch signature still authorises them (anyone may relay it), so
        // they wait, unsent by the gateway, until the deadline fails them or the closed line's id is cancelled.
        const reason = `payout id ${l.payoutId} of its batch failed and is still unused in the vault: the batch is not sent again as signed until that id is cancelled`;
        logger?.warn({ msg: "payout batch not sent", chain_id: chainId, batch_id: b.id, reason });
        return each({ outcome: "waiting" as const, reason });
      }
    }
    // a short balance: wait, as a single payout does (the vault would skip those items and they would fail)
    const need = new Map<Address, bigint>();
    for (const l of open) {
      const token = getAddress(l.tokenAddress);
      need.set(token, (need.get(token) ?? 0n) + l.amount);
    }
    for (const [token, amount] of need) {
      const [balance] = await client.readContract({
        address: vault,
        abi: VAULT_CALLS_ABI,
        functionName: "accountOf",
        args: [b.merchantId, token],
      });
      if (balance < amount) {
        logger?.warn({
          msg: "payout batch not executable yet",
          chain_id: chainId,
          batch_id: b.id,
          reason: "VaultInsufficientBalance",
          token,
          balance: balance.toString(),
          needed: amount.toString(),
        });
        return each({ outcome: "waiting" as const, reason: "VaultInsufficientBalance" });
      }
    }
    const data = encodeFunctionData({
      abi: VAULT_CALLS_ABI,
      functionName: "payoutBatch",
      args: [{ ...b.batch, payouts: b.batch.payouts.map((p) => ({ ...p, kind: Number(p.kind) })) }, b.signature],
    });
    let gas: bigint;
    try {
      gas = await client.estimateGas({ account: wallet.address, to: vault, data });
    } catch (e) {
      const name = vaultErrorName(e) ?? "unknown revert";
      if (FINAL_ERRORS.has(name)) {
        await markBatchFailed(db, b.id, `the vault refuses this payout batch: ${name}`);
        return each({ outcome: "failed" as const, reason: name });
      }
      logger?.warn({ msg: "payout batch not executable yet", chain_id: chainId, batch_id: b.id, reason: name });
      return each({ outcome: "waiting" as const, reason: name });
    }
    const txHash = await wallet.send({ to: vault, data, gas: (gas * 12n) / 10n, purpose: "payout", refId: b.id, refKind: "batch" });
    await markBatchBroadcast(db, b.id, txHash);
    logger?.info({ msg: "payout batch sent", chain_id: chainId, batch_id: b.id, payouts: open.length, tx_hash: txHash });
    return each({ outcome: "sent" as const, txHash });
  }

  return {
    async runOnce() {
      const out: PayoutOutcome[] = [];
      for (const p of await listExecutablePayouts(db, { chainId, limit: batch })) {
        // a payout with a pending transaction is the wallet's to finish (replace or drop), not to send again
        const [pending] = await db.query("SELECT 1 FROM operator_txs WHERE ref_id = $1 AND status = 'pending' LIMIT 1", [p.id]);
        if (pending) continue;
        out.push(await execute(p));
      }
      for (const b of await listExecutableBatches(db, { chainId, limit: batch })) {
        const [pending] = await db.query("SELECT 1 FROM operator_txs WHERE ref_id = $1 AND status = 'pending' LIMIT 1", [b.id]);
        if (pending) continue;
        out.push(...(await executeBatch(b)));
      }
      return out;
    },
  };
}
