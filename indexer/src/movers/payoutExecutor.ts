import { encodeFunctionData, getAddress, type Address, type Hex } from "viem";
import { newId } from "../domain/ids.js";
import { PayoutStatus } from "../domain/orderStateMachine.js";
import type { Db } from "../store/db.js";
import {
  hasPendingPayoutTx,
  listExecutableBatches,
  listExecutablePayouts,
  markBatchBroadcast,
  markBatchFailed,
  markPayoutBroadcast,
  markPayoutFailed,
  recordPayoutRelay,
  type ExecutableBatch,
  type ExecutablePayout,
  type PayoutOrderRecord,
  type PayoutWorkRef,
} from "../store/payoutOrders.js";
import type { OperatorWallet } from "./operatorWallet.js";
import { NEVER_PAYABLE_ERRORS, VAULT_CALLS_ABI, VAULT_RELAY_ABI, vaultErrorName } from "./vaultCalls.js";

export type CreatePayoutExecutorParameters = {
  db: Db;
  chainId: number;
  vault: Address;
  wallet: OperatorWallet;
  /** payouts, and batches, looked at per pass (default 20 of each) */
  batch?: number;
  /** most signed payout items one relay transaction carries (default 50) */
  relayMaxItems?: number;
  /** most gas one relay transaction may take, by its parts' own estimates (default 6,000,000) */
  relayMaxGas?: bigint;
  logger?: { info(o: object): void; warn(o: object): void };
};

/**
 * What a pass did with each payout; `batchId` when it went (or waits to go) in a batch transaction, `relayId`
 * when its transaction was a relay carrying other payouts too.
 */
export type PayoutOutcome = (
  | { id: string; kind: string; outcome: "sent"; txHash: string }
  | { id: string; kind: string; outcome: "failed"; reason: string }
  /** stays approved and is tried again next pass (e.g. the merchant's vault balance is short) */
  | { id: string; kind: string; outcome: "waiting"; reason: string }
  /** the vault already paid this id: the follower settles the order from the PayoutExecuted event */
  | { id: string; kind: string; outcome: "already_paid" }
) & { batchId?: string; relayId?: string };

export type PayoutExecutor = {
  runOnce(): Promise<PayoutOutcome[]>;
};

/**
 * Vault errors after which the same signed payout can never succeed. Not the signature, merchant or token
 * errors: the signer can be changed back (setMerchantSigner), an ERC-1271 signer can start approving, a
 * merchant can be registered; until its deadline the signature may then pay it, so it waits instead.
 */
const FINAL_ERRORS = new Set(["VaultPayoutExpired", ...NEVER_PAYABLE_ERRORS]);

/** A single payout or a batch that passed every check of this pass, with its own gas estimate. */
type Ready =
  | { kind: "payout"; p: ExecutablePayout; gas: bigint; items: number }
  | { kind: "batch"; b: ExecutableBatch; open: PayoutOrderRecord[]; gas: bigint; items: number };

/**
 * Executes approved, merchant-signed refunds, withdrawals and settlements, relayed by the operator (who cannot
 * change a signed field). Each single payout and each batch is checked first (the vault's own simulation, the
 * deadline, used ids) and against what the merchant holds in the vault, counting what this pass already
 * sends: a vault error that can never pass fails it with its reason, a short balance keeps it approved for a
 * later pass. What passes goes out together: one `vault.relayPayouts` transaction carries the singles and
 * batches of every merchant (up to `relayMaxItems` items and `relayMaxGas`), a lone one goes as `payout` or
 * `payoutBatch`. Success is not decided here: the follower settles each order when its `PayoutExecuted`
 * reaches the required depth, and a `PayoutSkipped` keeps it open (hooks.ts). The vault's payout-id replay
 * protection makes a second send harmless; the executor also checks `isPayoutIdUsed` and never sends a
 * payout again while a transaction that carries it is pending.
 */
export function createPayoutExecutor(args: CreatePayoutExecutorParameters): PayoutExecutor {
  const { db, chainId, vault, wallet, batch = 20, relayMaxItems = 50, relayMaxGas = 6_000_000n, logger } = args;
  const client = wallet.publicClient;
  const nowSeconds = () => BigInt(Math.floor(Date.now() / 1000));

  /**
   * The merchants' vault balances a pass may still spend. Parts sent in one pass are mined together: without
   * this, two payouts each covered alone could together overdraw, and the vault would skip the later one.
   */
  function createBudget() {
    const left = new Map<string, bigint>();
    return async (merchantId: bigint, needs: ReadonlyMap<Address, bigint>): Promise<string | undefined> => {
      for (const [token, amount] of needs) {
        const key = `${merchantId}:${token}`;
        if (!left.has(key)) {
          const [balance] = await client.readContract({
            address: vault,
            abi: VAULT_CALLS_ABI,
            functionName: "accountOf",
            args: [merchantId, token],
          });
          left.set(key, balance);
        }
        if (left.get(key)! < amount) {
          logger?.warn({
            msg: "payout not executable yet",
            chain_id: chainId,
            merchant_id: merchantId.toString(),
            reason: "VaultInsufficientBalance",
            token,
            balance: left.get(key)!.toString(),
            needed: amount.toString(),
          });
          return "VaultInsufficientBalance";
        }
      }
      for (const [token, amount] of needs) left.set(`${merchantId}:${token}`, left.get(`${merchantId}:${token}`)! - amount);
      return undefined;
    };
  }
  type Reserve = ReturnType<typeof createBudget>;

  const payoutCall = (p: ExecutablePayout) => [{ ...p.payout, kind: Number(p.payout.kind) }, p.signature] as const;
  const batchCall = (b: ExecutableBatch) =>
    [{ ...b.batch, payouts: b.batch.payouts.map((i) => ({ ...i, kind: Number(i.kind) })) }, b.signature] as const;

  /** The vault's simulation of `data`: its gas, or the vault error's name. */
  async function simulate(data: Hex): Promise<{ gas: bigint } | { error: string }> {
    try {
      return { gas: await client.estimateGas({ account: wallet.address, to: vault, data }) };
    } catch (e) {
      return { error: vaultErrorName(e) ?? "unknown revert" };
    }
  }

  async function checkPayout(p: ExecutablePayout, reserve: Reserve): Promise<PayoutOutcome | Ready> {
    const base = { id: p.id, kind: p.kind };
    if (p.deadline < nowSeconds()) {
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
    const sim = await simulate(encodeFunctionData({ abi: VAULT_CALLS_ABI, functionName: "payout", args: payoutCall(p) }));
    if ("error" in sim) {
      if (sim.error === "VaultPayoutIdUsed") return { ...base, outcome: "already_paid" };
      if (FINAL_ERRORS.has(sim.error)) {
        await markPayoutFailed(db, p.kind, p.id, `the vault refuses this payout: ${sim.error}`);
        return { ...base, outcome: "failed", reason: sim.error };
      }
      logger?.warn({ msg: "payout not executable yet", chain_id: chainId, kind: p.kind, id: p.id, reason: sim.error });
      return { ...base, outcome: "waiting", reason: sim.error };
    }
    const short = await reserve(p.merchantId, new Map([[p.token, p.amount]]));
    if (short) return { ...base, outcome: "waiting", reason: short };
    return { kind: "payout", p, gas: sim.gas, items: 1 };
  }

  /**
   * Checks an approved batch, to be sent with every signed item (the signature covers them all; an item
   * already paid is skipped by its used id). The vault reverts only for the batch as a whole (signature,
   * deadline, pause): a final reason fails every open line, anything else waits. An item it cannot pay is
   * reported with PayoutSkipped: the follower (hooks.ts) fails it only if it can never be paid, else puts it
   * back to approved and the batch is sent again after its retry time (payout_batches.retry_after). A batch
   * whose lines' balance is short waits, as a single payout does, until its deadline fails it.
   */
  async function checkBatch(b: ExecutableBatch, reserve: Reserve): Promise<PayoutOutcome[] | Ready> {
    const open = b.lines.filter((l) => l.status === PayoutStatus.Approved);
    const each = <T extends object>(o: T) => open.map((l) => ({ id: l.id, kind: l.kind, batchId: b.id, ...o }));
    // a line already sent: the wallet finishes (or drops) that transaction first
    if (b.lines.some((l) => l.status === PayoutStatus.Broadcast)) return [];
    if (b.deadline < nowSeconds()) {
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
    const sim = await simulate(encodeFunctionData({ abi: VAULT_CALLS_ABI, functionName: "payoutBatch", args: batchCall(b) }));
    if ("error" in sim) {
      if (FINAL_ERRORS.has(sim.error)) {
        await markBatchFailed(db, b.id, `the vault refuses this payout batch: ${sim.error}`);
        return each({ outcome: "failed" as const, reason: sim.error });
      }
      logger?.warn({ msg: "payout batch not executable yet", chain_id: chainId, batch_id: b.id, reason: sim.error });
      return each({ outcome: "waiting" as const, reason: sim.error });
    }
    // a short balance: wait, as a single payout does (the vault would skip those items)
    const needs = new Map<Address, bigint>();
    for (const l of open) {
      const token = getAddress(l.tokenAddress);
      needs.set(token, (needs.get(token) ?? 0n) + l.amount);
    }
    const short = await reserve(b.merchantId, needs);
    if (short) return each({ outcome: "waiting" as const, reason: short });
    return { kind: "batch", b, open, gas: sim.gas, items: b.batch.payouts.length };
  }

  /** Consecutive groups of ready parts, each within one relay transaction's limits. */
  function pack(ready: Ready[]): Ready[][] {
    const groups: Ready[][] = [];
    let items = 0;
    let gas = 0n;
    for (const r of ready) {
      const last = groups[groups.length - 1];
      if (!last || items + r.items > relayMaxItems || gas + r.gas > relayMaxGas) {
        groups.push([r]);
        items = r.items;
        gas = r.gas;
      } else {
        last.push(r);
        items += r.items;
        gas += r.gas;
      }
    }
    return groups;
  }

  const refOf = (r: Ready): PayoutWorkRef => (r.kind === "payout" ? { kind: r.p.kind, id: r.p.id } : { kind: "batch", id: r.b.id });

  /** What was sent, per line, after its transaction went out; a line that could not be marked is logged. */
  async function markSent(r: Ready, txHash: Hex, relayId?: string): Promise<PayoutOutcome[]> {
    try {
      if (r.kind === "payout") {
        await markPayoutBroadcast(db, r.p.kind, r.p.id, txHash);
        logger?.info({
          msg: "payout sent",
          chain_id: chainId,
          kind: r.p.kind,
          id: r.p.id,
          payout_id: r.p.payoutId.toString(),
          tx_hash: txHash,
          relay_id: relayId,
        });
        return [{ id: r.p.id, kind: r.p.kind, outcome: "sent", txHash, ...(relayId && { relayId }) }];
      }
      await markBatchBroadcast(db, r.b.id, txHash);
      logger?.info({
        msg: "payout batch sent",
        chain_id: chainId,
        batch_id: r.b.id,
        payouts: r.open.length,
        tx_hash: txHash,
        relay_id: relayId,
      });
      return r.open.map((l) => ({
        id: l.id,
        kind: l.kind,
        batchId: r.b.id,
        outcome: "sent" as const,
        txHash,
        ...(relayId && { relayId }),
      }));
    } catch (err) {
      // The transaction is out and carries this part: the follower settles it from the vault's events.
      logger?.warn({ msg: "payout sent but not marked", chain_id: chainId, ref: refOf(r), tx_hash: txHash, err: String(err) });
      return [];
    }
  }

  async function sendAlone(r: Ready): Promise<PayoutOutcome[]> {
    const data =
      r.kind === "payout"
        ? encodeFunctionData({ abi: VAULT_CALLS_ABI, functionName: "payout", args: payoutCall(r.p) })
        : encodeFunctionData({ abi: VAULT_CALLS_ABI, functionName: "payoutBatch", args: batchCall(r.b) });
    const ref = refOf(r);
    const txHash = await wallet.send({ to: vault, data, gas: (r.gas * 12n) / 10n, purpose: "payout", refId: ref.id, refKind: ref.kind });
    return markSent(r, txHash);
  }

  /**
   * One `relayPayouts` transaction for the group. It never reverts for one part (a bad signature, a used id, a
   * short balance is a PayoutSkipped of that part), so its simulation fails only for the vault as a whole
   * (paused): then every part waits. What it carries is recorded before it is signed (payout_relay_refs).
   */
  async function sendRelay(group: Ready[]): Promise<PayoutOutcome[]> {
    const singles = group.flatMap((r) => (r.kind === "payout" ? [{ payout: payoutCall(r.p)[0], signature: r.p.signature }] : []));
    const batches = group.flatMap((r) => (r.kind === "batch" ? [{ batch: batchCall(r.b)[0], signature: r.b.signature }] : []));
    const data = encodeFunctionData({ abi: VAULT_RELAY_ABI, functionName: "relayPayouts", args: [singles, batches] });
    const sim = await simulate(data);
    if ("error" in sim) {
      logger?.warn({ msg: "payout relay not executable yet", chain_id: chainId, parts: group.length, reason: sim.error });
      return group.flatMap((r) =>
        r.kind === "payout"
          ? [{ id: r.p.id, kind: r.p.kind, outcome: "waiting" as const, reason: sim.error }]
          : r.open.map((l) => ({ id: l.id, kind: l.kind, batchId: r.b.id, outcome: "waiting" as const, reason: sim.error })),
      );
    }
    const relayId = newId();
    await recordPayoutRelay(db, relayId, group.map(refOf));
    const txHash = await wallet.send({ to: vault, data, gas: (sim.gas * 12n) / 10n, purpose: "payout", refId: relayId, refKind: "relay" });
    logger?.info({
      msg: "payout relay sent",
      chain_id: chainId,
      relay_id: relayId,
      singles: singles.length,
      batches: batches.length,
      tx_hash: txHash,
    });
    const out: PayoutOutcome[] = [];
    for (const r of group) out.push(...(await markSent(r, txHash, relayId)));
    return out;
  }

  return {
    async runOnce() {
      const out: PayoutOutcome[] = [];
      const ready: Ready[] = [];
      const reserve = createBudget();
      // singles first, then batches: the order relayPayouts pays them in, so the budget sees what the vault will
      for (const p of await listExecutablePayouts(db, { chainId, limit: batch })) {
        // a payout with a pending transaction is the wallet's to finish (replace or drop), not to send again
        if (await hasPendingPayoutTx(db, p.id)) continue;
        const checked = await checkPayout(p, reserve);
        if ("outcome" in checked) out.push(checked);
        else ready.push(checked);
      }
      for (const b of await listExecutableBatches(db, { chainId, limit: batch })) {
        if (await hasPendingPayoutTx(db, b.id)) continue;
        const checked = await checkBatch(b, reserve);
        if (Array.isArray(checked)) out.push(...checked);
        else ready.push(checked);
      }
      for (const group of pack(ready)) out.push(...(group.length === 1 ? await sendAlone(group[0]!) : await sendRelay(group)));
      return out;
    },
  };
}
