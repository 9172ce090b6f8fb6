import { encodeFunctionData, getAddress, type Address } from "viem";
import { DepositKind, depositSalt } from "../domain/depositAddress.js";
import { newId } from "../domain/ids.js";
import type { Db } from "../store/db.js";
import type { OperatorWallet } from "./operatorWallet.js";
import { DEPLOY_FLAG, ERC20_BALANCE_ABI, VAULT_CALLS_ABI } from "./vaultCalls.js";

const NATIVE = "0x0000000000000000000000000000000000000000";

export type SweeperToken = {
  address: Address;
  /** wei per token base unit (decimal string), to weigh gas against a token's value; absent: no gas rule for the token */
  priceWei?: string;
};

export type CreateSweeperParameters = {
  db: Db;
  chainId: number;
  vault: Address;
  wallet: OperatorWallet;
  tokens: SweeperToken[];
  /** a sweep may cost at most this share of the value it moves, in basis points (default 500 = 5%) */
  maxGasShareBps?: number;
  /** addresses per sweep transaction (default 100) */
  maxEntries?: number;
  logger?: { info(o: object): void; warn(o: object): void };
};

export type SweepOutcome =
  | { token: string; outcome: "sent"; sweepId: string; txHash: string; entries: number; amount: bigint; gas: bigint }
  | { token: string; outcome: "not_worth_it"; entries: number; amount: bigint; gasCostWei: bigint; limitWei: bigint }
  | { token: string; outcome: "empty"; deposits: number };

export type Sweeper = {
  /** one pass over every token: sweeps what is confirmed and worth its gas; returns what it did */
  runOnce(): Promise<SweepOutcome[]>;
};

type Candidate = { address: string; merchantId: bigint; kind: DepositKind; key: bigint; deposits: { txHash: string; logIndex: number }[] };

/**
 * Moves confirmed deposits into the vault, one `sweep(token, entries)` per token and batch. What is swept is
 * each address's balance on chain at the time (so fee-on-transfer tokens, several deposits and late ones
 * are all taken), and the vault credits each merchant with what actually arrived. The deposits a sweep
 * took are recorded in `sweep_items`; the vault's `Swept` events, once confirmed, close the sweep (see
 * {createMoverHooks}).
 */
export function createSweeper(args: CreateSweeperParameters): Sweeper {
  const { db, chainId, vault, wallet, maxGasShareBps = 500, maxEntries = 100, logger } = args;
  const client = wallet.publicClient;

  async function candidates(token: string): Promise<Candidate[]> {
    const rows = await db.query<Record<string, any>>(
      `SELECT d.to_address, d.tx_hash, d.log_index,
              coalesce(p.merchant_id, u.merchant_id) AS merchant_id,
              CASE WHEN p.pool_index IS NOT NULL THEN 1 ELSE 2 END AS kind,
              coalesce(p.pool_index, u.user_no) AS key
       FROM chain_deposits d
       LEFT JOIN address_pool p ON p.chain_id = d.chain_id AND p.address = d.to_address
       LEFT JOIN user_wallets w ON w.chain_id = d.chain_id AND w.address = d.to_address
       LEFT JOIN users u ON u.id = w.user_id
       WHERE d.chain_id = $1 AND d.token = $2 AND d.status = 'confirmed'
         AND NOT EXISTS (SELECT 1 FROM sweep_items i WHERE i.chain_id = d.chain_id AND i.tx_hash = d.tx_hash AND i.log_index = d.log_index)
       ORDER BY merchant_id, d.to_address`,
      [chainId, token],
    );
    const byAddress = new Map<string, Candidate>();
    for (const r of rows) {
      if (r.merchant_id == null) continue; // not a gateway address (cannot happen for watched rows)
      const c: Candidate = byAddress.get(r.to_address) ?? {
        address: r.to_address,
        merchantId: BigInt(r.merchant_id),
        kind: Number(r.kind) as DepositKind,
        key: BigInt(r.key),
        deposits: [],
      };
      c.deposits.push({ txHash: r.tx_hash, logIndex: Number(r.log_index) });
      byAddress.set(r.to_address, c);
    }
    return [...byAddress.values()];
  }

  const balanceOf = (token: string, address: string) =>
    token === NATIVE
      ? client.getBalance({ address: address as Address })
      : client.readContract({ address: token as Address, abi: ERC20_BALANCE_ABI, functionName: "balanceOf", args: [address as Address] });

  async function markTaken(items: Candidate[], sweepId: string | null) {
    const deposits = items.flatMap((c) => c.deposits);
    if (deposits.length === 0) return;
    await db.query(
      `INSERT INTO sweep_items (chain_id, tx_hash, log_index, sweep_id)
       SELECT $1, t.h, t.i, $4 FROM unnest($2::text[], $3::int[]) AS t(h, i) ON CONFLICT DO NOTHING`,
      [chainId, deposits.map((d) => d.txHash), deposits.map((d) => d.logIndex), sweepId],
    );
  }

  async function sweepToken(t: SweeperToken): Promise<SweepOutcome[]> {
    const token = t.address.toLowerCase();
    const all = await candidates(token);
    const out: SweepOutcome[] = [];
    for (let i = 0; i < all.length; i += maxEntries) {
      const batch = all.slice(i, i + maxEntries);
      const balances = await Promise.all(batch.map((c) => balanceOf(token, c.address)));
      // an address found empty was swept already (e.g. by a sweep whose record a crash lost): nothing to move
      const empty = batch.filter((_, k) => balances[k] === 0n);
      await markTaken(empty, null);
      const full = batch.filter((_, k) => balances[k]! > 0n);
      if (full.length === 0) {
        out.push({ token, outcome: "empty", deposits: empty.reduce((n, c) => n + c.deposits.length, 0) });
        continue;
      }
      const amount = batch.reduce((s, _, k) => s + balances[k]!, 0n);
      const fullBalances = batch.map((_, k) => balances[k]!).filter((b) => b > 0n);
      const codes = await Promise.all(full.map((c) => client.getCode({ address: c.address as Address })));
      // Flag every address whose code we have not seen: the vault deploys a flagged address only if it has
      // no code, so a flag is never wrong (an unflagged address without code would be skipped).
      const entries = full.map((c, k) => {
        const salt = depositSalt(c.merchantId, c.kind, c.key);
        return codes[k] && codes[k] !== "0x" ? salt : salt | DEPLOY_FLAG;
      });
      // The balances just read: the vault moves exactly these (a later deposit waits for the next sweep).
      const data = encodeFunctionData({ abi: VAULT_CALLS_ABI, functionName: "sweep", args: [getAddress(token), entries, fullBalances] });
      const gas = await client.estimateGas({ account: wallet.address, to: vault, data });
      const gasPrice = await client.getGasPrice();
      const valueWei = token === NATIVE ? amount : t.priceWei ? amount * BigInt(t.priceWei) : undefined;
      if (valueWei !== undefined) {
        const limitWei = (valueWei * BigInt(maxGasShareBps)) / 10_000n;
        const gasCostWei = gas * gasPrice;
        if (gasCostWei > limitWei) {
          logger?.info({
            msg: "sweep not worth its gas yet",
            chain_id: chainId,
            token,
            entries: full.length,
            amount: amount.toString(),
            gas_cost_wei: gasCostWei.toString(),
            limit_wei: limitWei.toString(),
          });
          out.push({ token, outcome: "not_worth_it", entries: full.length, amount, gasCostWei, limitWei });
          continue;
        }
      }
      const sweepId = newId();
      await db.query("INSERT INTO sweeps (id, chain_id, token, entries, expected, estimated_gas) VALUES ($1, $2, $3, $4, $5, $6)", [
        sweepId,
        chainId,
        token,
        full.length,
        amount,
        gas,
      ]);
      await markTaken(full, sweepId);
      // headroom: deploying an address costs more when the estimate ran before a concurrent deployment
      const txHash = await wallet.send({ to: vault, data, gas: (gas * 13n) / 10n, purpose: "sweep", refId: sweepId });
      logger?.info({ msg: "sweep sent", chain_id: chainId, token, entries: full.length, amount: amount.toString(), tx_hash: txHash });
      out.push({ token, outcome: "sent", sweepId, txHash, entries: full.length, amount, gas });
    }
    return out;
  }

  return {
    async runOnce() {
      const out: SweepOutcome[] = [];
      for (const t of args.tokens) out.push(...(await sweepToken(t)));
      return out;
    },
  };
}

/**
 * A sweep transaction that never made it (dropped, or reverted): its deposits become sweepable again.
 * Called by the movers when the operator wallet settles the transaction that way.
 */
export async function releaseSweep(db: Db, sweepId: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query("DELETE FROM sweep_items WHERE sweep_id = $1", [sweepId]);
    await tx.query("UPDATE sweeps SET status = 'dropped' WHERE id = $1 AND status = 'broadcast'", [sweepId]);
  });
}
