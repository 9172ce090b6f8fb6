import { decodeFunctionData, parseAbi, type Address, type Hex, type PublicClient } from "viem";
import { BaseError } from "../domain/errors.js";
import type { Queryable } from "../store/db.js";

/**
 * Reconciliation (seed 002): the gateway's books against the chain, per chain, merchant and token.
 *
 * Everything is compared at one block, the follower's confirmed boundary (`chain_cursors.confirmed_number`):
 * the store holds every confirmed vault event and deposit up to it, and the chain is read *at* it, so
 * blocks the follower has not confirmed yet never show as differences.
 *
 * Checks:
 * - `balance`: the vault's `accountOf(merchant, token).balance` = Σ Swept (amount − fee) − Σ PayoutExecuted.
 * - `fees`: `accountOf(…).feesAccrued` = Σ Swept fee since the merchant's last fee claim (claims are
 *   attributed from the `claimFees` call's merchant list).
 * - `deposits`: what the merchant's deposit addresses hold on chain = Σ confirmed deposits − Σ Swept amount
 *   (a shortfall is a deposit the follower missed or a sweep it did not record; swept > deposited means
 *   credits from deposits the gateway never saw).
 * - `payout`: each payout the gateway marked success has its PayoutExecuted event with the same token,
 *   recipient and amount, and each PayoutExecuted event belongs to an order marked success; an open payout
 *   the vault skipped (PayoutSkipped: its id unused, its signature valid until the deadline) is reported too,
 *   so the operator sees money that is reserved and not moving.
 * - `ledger`: when the sweep ledger (migration 006) is installed, its credits and fees per merchant and
 *   token equal the Swept events.
 * - `address`: each deposit address holds what its own rows say: confirmed deposits (a transfer absorbed by
 *   a balance-found deposit counted once, through that deposit) less what left it (`chain_outflows`: token
 *   transfers out, native sweeps). A difference is money the balance safety net has not found (yet), or a
 *   recorded deposit the address never got; the per-merchant `deposits` sum can hide two that cancel.
 * - `absorbed`: a balance-found deposit's `absorbed_amount` equals the transfers it absorbed, and is at most
 *   its amount (more would mean a transfer counted twice).
 * - `credited`: every confirmed deposit to a deposit address (balance-found ones included) reached the
 *   order logic: a payment transfer, a recharge, or an unattributed deposit.
 *
 * `compareReconciliation` is the pure part (tested without a chain); `collectReconciliation` reads both sides.
 */

export type Check = "balance" | "fees" | "deposits" | "payout" | "ledger" | "merchant" | "address" | "absorbed" | "credited";

export type Mismatch = {
  chainId: number;
  merchantId: string;
  /** lowercase token address */
  token: string;
  check: Check;
  /** what the gateway's tables imply (base units), or a label */
  gateway: string;
  /** what the chain says */
  chain: string;
  detail: string;
};

export type PayoutRecord = {
  kind: "refund" | "withdrawal" | "settlement";
  id: string;
  merchantId: string;
  payoutId: string;
  token: string;
  to: string;
  amount: bigint;
  status: number;
  txHash: string | null;
  /** the vault's reason when it last skipped this payout (PayoutSkipped); the payout stays open until its deadline */
  skipReason?: string | null;
};

export type PayoutEvent = { merchantId: string; payoutId: string; token: string; to: string; amount: bigint; txHash: string };

export type ReconcileInput = {
  chainId: number;
  /** the block everything was read at */
  atBlock: bigint;
  /** merchants and tokens to check */
  merchants: string[];
  tokens: string[];
  /** on chain, per `${merchantId}:${token}` */
  accounts: Map<string, { balance: bigint; fees: bigint }>;
  /** from confirmed Swept events, per `${merchantId}:${token}`; `feesSinceClaim` resets at each attributed claim */
  swept: Map<string, { amount: bigint; fee: bigint; feesSinceClaim: bigint }>;
  /** merchant:token pairs whose fees were claimed by a call that could not be attributed */
  unattributedClaims: Set<string>;
  payoutEvents: PayoutEvent[];
  payoutRecords: PayoutRecord[];
  /** Σ confirmed deposits to the merchant's addresses, and what those addresses hold on chain */
  deposited: Map<string, bigint>;
  heldAtDepositAddresses: Map<string, bigint>;
  /** the sweep ledger's totals, when migration 006 is installed */
  ledger?: Map<string, { credited: bigint; fee: bigint }>;
  /** per deposit address and token (`address:token`): what it holds on chain and what its rows say */
  addresses?: Map<string, { merchantId: string; held: bigint; expected: bigint }>;
  /** balance-found deposits whose absorbed amount disagrees with the transfers they absorbed */
  absorbedMismatches?: { merchantId: string; token: string; key: string; amount: bigint; absorbedAmount: bigint; absorbedSum: bigint }[];
  /** confirmed deposits no order, recharge or unattributed row records */
  uncredited?: { merchantId: string; token: string; key: string; source: string; amount: bigint }[];
  /** balance-found deposits (confirmed, at or below the block): how many and how much, and how much of it no real transfer explains yet */
  foundByBalance?: { count: number; amount: Map<string, bigint>; unmatched: Map<string, bigint> };
};

const k = (m: string, t: string) => `${m}:${t}`;
const zero = { amount: 0n, fee: 0n, feesSinceClaim: 0n };
const SUCCESS = 3;
/** a payout approved (1) or sent (2): still open */
const APPROVED = 1;
const SENT = 2;

/** Every difference between the gateway's books and the chain; empty when they agree. */
export function compareReconciliation(input: ReconcileInput): Mismatch[] {
  const out: Mismatch[] = [];
  const push = (merchantId: string, token: string, check: Check, gateway: bigint | string, chain: bigint | string, detail: string) =>
    out.push({ chainId: input.chainId, merchantId, token, check, gateway: String(gateway), chain: String(chain), detail });

  const paidOut = new Map<string, bigint>();
  for (const e of input.payoutEvents) paidOut.set(k(e.merchantId, e.token), (paidOut.get(k(e.merchantId, e.token)) ?? 0n) + e.amount);

  const known = new Set(input.merchants);
  for (const key of new Set([...input.swept.keys(), ...paidOut.keys()])) {
    const [m, t] = key.split(":") as [string, string];
    if (!known.has(m) && input.tokens.includes(t))
      push(m, t, "merchant", "no such merchant", "vault activity", "the vault credits or pays a merchant id the gateway does not know");
  }

  for (const m of input.merchants) {
    for (const t of input.tokens) {
      const key = k(m, t);
      const s = input.swept.get(key) ?? zero;
      const acct = input.accounts.get(key) ?? { balance: 0n, fees: 0n };
      const expected = s.amount - s.fee - (paidOut.get(key) ?? 0n);
      if (acct.balance !== expected) {
        push(
          m,
          t,
          "balance",
          expected,
          acct.balance,
          `vault balance differs by ${acct.balance - expected} (swept net of fees minus payouts in the gateway's events)`,
        );
      }
      if (input.unattributedClaims.has(key)) {
        if (acct.fees > s.feesSinceClaim)
          push(
            m,
            t,
            "fees",
            `<= ${s.feesSinceClaim}`,
            acct.fees,
            "accrued fees exceed the recorded sweep fees (a claim could not be attributed)",
          );
      } else if (acct.fees !== s.feesSinceClaim) {
        push(m, t, "fees", s.feesSinceClaim, acct.fees, `accrued platform fee differs by ${acct.fees - s.feesSinceClaim}`);
      }
      const deposited = input.deposited.get(key) ?? 0n;
      const held = input.heldAtDepositAddresses.get(key) ?? 0n;
      if (deposited - s.amount !== held) {
        push(
          m,
          t,
          "deposits",
          deposited - s.amount,
          held,
          held > deposited - s.amount
            ? "deposit addresses hold more than confirmed deposits minus sweeps: a deposit was not recorded"
            : "deposit addresses hold less than confirmed deposits minus sweeps: a sweep or transfer out was not recorded",
        );
      }
      const l = input.ledger?.get(key);
      if (input.ledger && ((l?.credited ?? 0n) !== s.amount - s.fee || (l?.fee ?? 0n) !== s.fee)) {
        push(
          m,
          t,
          "ledger",
          `${l?.credited ?? 0n} net, ${l?.fee ?? 0n} fee`,
          `${s.amount - s.fee} net, ${s.fee} fee`,
          "the sweep ledger differs from the vault's Swept events",
        );
      }
    }
  }

  for (const [key, a] of input.addresses ?? []) {
    if (a.held === a.expected) continue;
    const [address, token] = key.split(":") as [string, string];
    push(
      a.merchantId,
      token,
      "address",
      a.expected,
      a.held,
      a.held > a.expected
        ? `${address} holds ${a.held - a.expected} that no recorded deposit explains (not found by the follower or the balance net yet)`
        : `${address} holds ${a.expected - a.held} less than its deposits minus what left it`,
    );
  }
  for (const b of input.absorbedMismatches ?? []) {
    push(
      b.merchantId,
      b.token,
      "absorbed",
      `${b.absorbedAmount} absorbed`,
      `${b.absorbedSum} in absorbed transfers`,
      `balance-found deposit ${b.key} (amount ${b.amount}) disagrees with the transfers it absorbed`,
    );
  }
  for (const u of input.uncredited ?? []) {
    push(
      u.merchantId,
      u.token,
      "credited",
      "no order, recharge or unattributed row",
      `${u.amount} (${u.source})`,
      `confirmed deposit ${u.key} never reached the order logic`,
    );
  }

  const eventBy = new Map(input.payoutEvents.map((e) => [k(e.merchantId, e.payoutId), e]));
  const recordBy = new Map(input.payoutRecords.map((r) => [k(r.merchantId, r.payoutId), r]));
  for (const r of input.payoutRecords) {
    const e = eventBy.get(k(r.merchantId, r.payoutId));
    const label = `${r.kind} ${r.id} (payout id ${r.payoutId})`;
    if (r.status === SUCCESS && !e) {
      push(
        r.merchantId,
        r.token,
        "payout",
        `${r.amount} success`,
        "no PayoutExecuted",
        `${label} is marked success but never paid on chain`,
      );
    } else if (e && (e.token !== r.token || e.to !== r.to || e.amount !== r.amount)) {
      push(
        r.merchantId,
        r.token,
        "payout",
        `${r.amount} to ${r.to}`,
        `${e.amount} of ${e.token} to ${e.to}`,
        `${label} differs from its PayoutExecuted (${e.txHash})`,
      );
    } else if (!e && r.skipReason && (r.status === APPROVED || r.status === SENT)) {
      push(
        r.merchantId,
        r.token,
        "payout",
        `${r.amount} to ${r.to}, state ${r.status}`,
        "skipped, not paid",
        `${label} was skipped by the vault (${r.skipReason}); it stays reserved and is sent again until its signed deadline, unless the merchant's signer cancels the id`,
      );
    } else if (e && r.status !== SUCCESS) {
      push(
        r.merchantId,
        r.token,
        "payout",
        `state ${r.status}`,
        `paid ${e.amount}`,
        `${label} was paid on chain (${e.txHash}) but is not marked success`,
      );
    }
  }
  for (const e of input.payoutEvents) {
    if (!recordBy.has(k(e.merchantId, e.payoutId))) {
      push(
        e.merchantId,
        e.token,
        "payout",
        "no order",
        `paid ${e.amount} to ${e.to}`,
        `PayoutExecuted ${e.txHash} (payout id ${e.payoutId}) matches no refund, withdrawal or settlement`,
      );
    }
  }
  return out;
}

// ------------------------------------------------------------------ reading both sides

const VAULT_ABI = parseAbi([
  "function accountOf(uint64 merchantId, address token) view returns (uint256 balance, uint256 feesAccrued)",
  "function claimFees(address token, uint64[] merchantIds)",
]);
const ERC20_ABI = parseAbi(["function balanceOf(address) view returns (uint256)"]);
const NATIVE = "0x0000000000000000000000000000000000000000";

async function tableExists(db: Queryable, name: string): Promise<boolean> {
  const [r] = await db.query<{ t: string | null }>("SELECT to_regclass($1)::text AS t", [name]);
  return !!r?.t;
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

export class ReconcileError extends BaseError {
  override name = "ReconcileError";
}

/** Reads the gateway's tables and the chain (at the follower's confirmed block) for one chain. */
export async function collectReconciliation(args: {
  db: Queryable;
  client: PublicClient;
  chainId: number;
  vault: Address;
  /** token addresses to check (the chain's configured tokens) */
  tokens: string[];
  /** only this merchant; default every merchant */
  merchantId?: bigint;
}): Promise<ReconcileInput> {
  const { db, client, chainId } = args;
  const tokens = args.tokens.map((t) => t.toLowerCase());
  const [cursor] = await db.query("SELECT confirmed_number FROM chain_cursors WHERE chain_id = $1", [chainId]);
  if (!cursor || BigInt(cursor.confirmed_number) < 0n) {
    throw new ReconcileError(`chain ${chainId}: the follower has confirmed no block yet; run the gateway (or its follower) first`);
  }
  const atBlock = BigInt(cursor.confirmed_number);
  const only = args.merchantId?.toString();
  const merchants = (await db.query<{ id: string }>("SELECT id::text AS id FROM merchants ORDER BY id"))
    .map((r) => r.id)
    .filter((m) => !only || m === only);
  const wanted = (m: string) => !only || m === only;

  const events = await db.query<{ name: string; args: Record<string, string>; tx_hash: string }>(
    `SELECT name, args, tx_hash FROM chain_vault_events
      WHERE chain_id = $1 AND status = 'confirmed' AND block_number <= $2 AND name IN ('Swept', 'PayoutExecuted', 'FeesClaimed')
      ORDER BY block_number, log_index`,
    [chainId, atBlock],
  );
  const swept = new Map<string, { amount: bigint; fee: bigint; feesSinceClaim: bigint }>();
  const unattributedClaims = new Set<string>();
  const payoutEvents: PayoutEvent[] = [];
  for (const e of events) {
    const a = e.args;
    if (e.name === "Swept") {
      if (!wanted(a.merchantId!)) continue;
      const key = k(a.merchantId!, a.token!.toLowerCase());
      const s = swept.get(key) ?? { ...zero };
      s.amount += BigInt(a.amount!);
      s.fee += BigInt(a.fee!);
      s.feesSinceClaim += BigInt(a.fee!);
      swept.set(key, s);
    } else if (e.name === "PayoutExecuted") {
      if (!wanted(a.merchantId!)) continue;
      payoutEvents.push({
        merchantId: a.merchantId!,
        payoutId: a.payoutId!,
        token: a.token!.toLowerCase(),
        to: a.to!.toLowerCase(),
        amount: BigInt(a.amount!),
        txHash: e.tx_hash,
      });
    } else {
      // FeesClaimed names no merchant: the claimFees call's argument does; a claim through another
      // contract cannot be decoded, and then those fees can only be bounded
      const token = a.token!.toLowerCase();
      let ids: string[] | null = null;
      try {
        const tx = await client.getTransaction({ hash: e.tx_hash as Hex });
        const call = decodeFunctionData({ abi: VAULT_ABI, data: tx.input });
        if (call.functionName === "claimFees" && tx.to?.toLowerCase() === args.vault.toLowerCase())
          ids = (call.args[1] as readonly bigint[]).map(String);
      } catch {
        ids = null;
      }
      for (const [key, s] of swept) {
        const [m, t] = key.split(":");
        if (t !== token) continue;
        if (ids === null) unattributedClaims.add(key);
        else if (ids.includes(m!)) s.feesSinceClaim = 0n;
      }
      if (ids === null) for (const m of merchants) unattributedClaims.add(k(m, token));
    }
  }

  const accounts = new Map<string, { balance: bigint; fees: bigint }>();
  const pairs = merchants.flatMap((m) => tokens.map((t) => [m, t] as const));
  await mapLimit(pairs, 8, async ([m, t]) => {
    const [balance, fees] = await client.readContract({
      address: args.vault,
      abi: VAULT_ABI,
      functionName: "accountOf",
      args: [BigInt(m), t as Address],
      blockNumber: atBlock,
    });
    accounts.set(k(m, t), { balance, fees });
  });

  // deposits: the merchant's payment pool addresses and its users' recharge addresses
  const depositRows = await db.query<{ merchant_id: string; address: string; token: string; amount: string }>(
    `WITH owned AS (
       SELECT merchant_id, address FROM address_pool WHERE chain_id = $1
       UNION ALL
       SELECT u.merchant_id, w.address FROM user_wallets w JOIN users u ON u.id = w.user_id WHERE w.chain_id = $1
     )
     SELECT o.merchant_id::text AS merchant_id, d.to_address AS address, d.token, sum(d.amount)::text AS amount
       FROM chain_deposits d JOIN owned o ON o.address = d.to_address
      WHERE d.chain_id = $1 AND d.status = 'confirmed' AND d.block_number <= $2 AND d.absorbed_by IS NULL
      GROUP BY o.merchant_id, d.to_address, d.token`,
    [chainId, atBlock],
  );
  const deposited = new Map<string, bigint>();
  const held = new Map<string, bigint>();
  // per address: what its rows say (deposits in, less outflows)
  const addresses = new Map<string, { merchantId: string; held: bigint; expected: bigint }>();
  for (const r of depositRows) {
    if (!wanted(r.merchant_id) || !tokens.includes(r.token.toLowerCase())) continue;
    addresses.set(`${r.address}:${r.token.toLowerCase()}`, { merchantId: r.merchant_id, held: 0n, expected: BigInt(r.amount) });
  }
  const holdings: { key: string; address: string; token: string }[] = [];
  const seenHolding = new Set<string>();
  for (const r of depositRows) {
    const token = r.token.toLowerCase();
    if (!wanted(r.merchant_id) || !tokens.includes(token)) continue;
    const key = k(r.merchant_id, token);
    deposited.set(key, (deposited.get(key) ?? 0n) + BigInt(r.amount));
    // an address that received one token is checked for every token (a sweep of the other may be owed)
    for (const t of tokens) {
      const id = `${r.address}:${t}`;
      if (seenHolding.has(id)) continue;
      seenHolding.add(id);
      holdings.push({ key: k(r.merchant_id, t), address: r.address, token: t });
    }
  }
  // native coin sent by a contract (an internal transfer) leaves no log at an address without code, so the
  // follower cannot record it: read the native balance of every address that was handed out for the
  // native coin (native payment orders' addresses, users' recharge addresses) even with nothing recorded,
  // and a payment the follower missed shows as "deposits: ... a deposit was not recorded"
  if (tokens.includes(NATIVE)) {
    const handedOut = await db.query<{ merchant_id: string; address: string }>(
      `SELECT DISTINCT merchant_id::text AS merchant_id, receipt_address AS address FROM payment_orders
        WHERE chain_id = $1 AND token_address = $2 AND receipt_address IS NOT NULL
       UNION
       SELECT u.merchant_id::text, w.address FROM user_wallets w JOIN users u ON u.id = w.user_id WHERE w.chain_id = $1`,
      [chainId, NATIVE],
    );
    for (const r of handedOut) {
      const id = `${r.address}:${NATIVE}`;
      if (!wanted(r.merchant_id) || seenHolding.has(id)) continue;
      seenHolding.add(id);
      holdings.push({ key: k(r.merchant_id, NATIVE), address: r.address, token: NATIVE });
    }
  }
  const outflows = await db.query<{ address: string; token: string; amount: string }>(
    `SELECT from_address AS address, token, sum(amount)::text AS amount FROM chain_outflows
      WHERE chain_id = $1 AND block_number <= $2 GROUP BY from_address, token`,
    [chainId, atBlock],
  );
  const out = new Map(outflows.map((r) => [`${r.address}:${r.token}`, BigInt(r.amount)]));
  await mapLimit(holdings, 8, async (h) => {
    const v =
      h.token === NATIVE
        ? await client.getBalance({ address: h.address as Address, blockNumber: atBlock })
        : await client.readContract({
            address: h.token as Address,
            abi: ERC20_ABI,
            functionName: "balanceOf",
            args: [h.address as Address],
            blockNumber: atBlock,
          });
    held.set(h.key, (held.get(h.key) ?? 0n) + v);
    const id = `${h.address}:${h.token}`;
    const a = addresses.get(id) ?? { merchantId: h.key.split(":")[0]!, held: 0n, expected: 0n };
    addresses.set(id, { ...a, held: v, expected: a.expected - (out.get(id) ?? 0n) });
  });

  const balanceFound = await readBalanceFound(db, chainId, atBlock, wanted);

  // payouts the gateway recorded (refunds carry their chain and token through the payment)
  const payoutRecords: PayoutRecord[] = [];
  const rows = await db.query(
    `SELECT 'refund' AS kind, r.id, r.merchant_id::text AS merchant_id, r.payout_id::text AS payout_id, p.token_address AS token, r.to_address, r.amount::text AS amount, r.status, r.tx_hash, r.skip_reason
       FROM refund_orders r JOIN payment_orders p ON p.id = r.pay_order_id WHERE p.chain_id = $1
     UNION ALL
     SELECT 'withdrawal', id, merchant_id::text, payout_id::text, token_address, to_address, amount::text, status, tx_hash, skip_reason
       FROM withdrawal_orders WHERE chain_id = $1` +
      ((await tableExists(db, "settlement_orders"))
        ? ` UNION ALL SELECT 'settlement', id, merchant_id::text, payout_id::text, token_address, to_address, amount::text, status, tx_hash, skip_reason FROM settlement_orders WHERE chain_id = $1`
        : ""),
    [chainId],
  );
  for (const r of rows) {
    if (!wanted(r.merchant_id)) continue;
    payoutRecords.push({
      kind: r.kind,
      id: r.id,
      merchantId: r.merchant_id,
      payoutId: r.payout_id,
      token: r.token.toLowerCase(),
      to: r.to_address.toLowerCase(),
      amount: BigInt(r.amount),
      status: Number(r.status),
      txHash: r.tx_hash,
      skipReason: r.skip_reason ?? null,
    });
  }

  return {
    chainId,
    atBlock,
    merchants,
    tokens,
    accounts,
    swept,
    unattributedClaims,
    payoutEvents,
    payoutRecords,
    deposited,
    heldAtDepositAddresses: held,
    ledger: await readSweepLedger(db, chainId, only),
    addresses,
    ...balanceFound,
  };
}

/**
 * The balance-found deposits of the chain (confirmed, at or below the block), their absorbed amounts, and
 * the confirmed deposits that reached no order, recharge or unattributed row.
 */
async function readBalanceFound(db: Queryable, chainId: number, atBlock: bigint, wanted: (m: string) => boolean) {
  const owner = `COALESCE((SELECT merchant_id FROM address_pool p WHERE p.chain_id = d.chain_id AND p.address = d.to_address),
                          (SELECT u.merchant_id FROM user_wallets w JOIN users u ON u.id = w.user_id WHERE w.chain_id = d.chain_id AND w.address = d.to_address))::text`;
  const found = await db.query<{
    merchant_id: string | null;
    tx_hash: string;
    token: string;
    amount: string;
    absorbed_amount: string;
    absorbed_sum: string;
  }>(
    `SELECT ${owner} AS merchant_id, d.tx_hash, d.token, d.amount::text, d.absorbed_amount::text,
            (SELECT COALESCE(sum(a.amount), 0) FROM chain_deposits a WHERE a.absorbed_by = d.id)::text AS absorbed_sum
       FROM chain_deposits d
      WHERE d.chain_id = $1 AND d.source = 'balance' AND d.status = 'confirmed' AND d.block_number <= $2`,
    [chainId, atBlock],
  );
  const amount = new Map<string, bigint>();
  const unmatched = new Map<string, bigint>();
  const absorbedMismatches: NonNullable<ReconcileInput["absorbedMismatches"]> = [];
  let count = 0;
  for (const r of found) {
    const m = r.merchant_id ?? "-";
    if (!wanted(m)) continue;
    count++;
    const key = k(m, r.token);
    amount.set(key, (amount.get(key) ?? 0n) + BigInt(r.amount));
    unmatched.set(key, (unmatched.get(key) ?? 0n) + BigInt(r.amount) - BigInt(r.absorbed_amount));
    if (r.absorbed_amount !== r.absorbed_sum || BigInt(r.absorbed_amount) > BigInt(r.amount)) {
      absorbedMismatches.push({
        merchantId: m,
        token: r.token,
        key: r.tx_hash,
        amount: BigInt(r.amount),
        absorbedAmount: BigInt(r.absorbed_amount),
        absorbedSum: BigInt(r.absorbed_sum),
      });
    }
  }
  const lost = await db.query<{
    merchant_id: string | null;
    tx_hash: string;
    log_index: number;
    token: string;
    amount: string;
    source: string;
  }>(
    `SELECT ${owner} AS merchant_id, d.tx_hash, d.log_index, d.token, d.amount::text, d.source
       FROM chain_deposits d
      WHERE d.chain_id = $1 AND d.status = 'confirmed' AND d.block_number <= $2 AND d.absorbed_by IS NULL
        AND NOT EXISTS (SELECT 1 FROM payment_transfers t WHERE t.chain_id = d.chain_id AND t.tx_hash = d.tx_hash AND t.log_index = d.log_index AND t.status <> 'removed')
        AND NOT EXISTS (SELECT 1 FROM recharge_orders r WHERE r.chain_id = d.chain_id AND r.tx_hash = d.tx_hash AND r.log_index = d.log_index AND r.status <> -1)
        AND NOT EXISTS (SELECT 1 FROM unattributed_deposits u WHERE u.chain_id = d.chain_id AND u.tx_hash = d.tx_hash AND u.log_index = d.log_index)
      LIMIT 1000`,
    [chainId, atBlock],
  );
  const uncredited = lost
    .filter((r) => wanted(r.merchant_id ?? "-"))
    .map((r) => ({
      merchantId: r.merchant_id ?? "-",
      token: r.token,
      key: `${r.tx_hash}:${r.log_index}`,
      source: r.source,
      amount: BigInt(r.amount),
    }));
  return { foundByBalance: { count, amount, unmatched }, absorbedMismatches, uncredited };
}

/** H5's sweep ledger (migration 006), when installed and shaped as expected; undefined otherwise. */
async function readSweepLedger(
  db: Queryable,
  chainId: number,
  only?: string,
): Promise<Map<string, { credited: bigint; fee: bigint }> | undefined> {
  for (const table of ["sweep_ledger", "ledger_entries", "sweep_credits"]) {
    if (!(await tableExists(db, table))) continue;
    const cols = new Set(
      (
        await db.query<{ column_name: string }>(
          "SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND table_schema = ANY (current_schemas(false))",
          [table],
        )
      ).map((r) => r.column_name),
    );
    const token = cols.has("token_address") ? "token_address" : cols.has("token") ? "token" : null;
    const credit = cols.has("credited") ? "credited" : cols.has("net_amount") ? "net_amount" : null;
    if (!token || !credit || !cols.has("fee") || !cols.has("merchant_id") || !cols.has("chain_id")) continue;
    const rows = await db.query(
      `SELECT merchant_id::text AS m, lower(${token}) AS t, sum(${credit})::text AS c, sum(fee)::text AS f FROM ${table} WHERE chain_id = $1 GROUP BY 1, 2`,
      [chainId],
    );
    return new Map(rows.filter((r) => !only || r.m === only).map((r) => [k(r.m, r.t), { credited: BigInt(r.c), fee: BigInt(r.f) }]));
  }
  return undefined;
}

/** The mismatches as an aligned text table (or a one-line all-clear). */
export function formatMismatches(mismatches: Mismatch[], symbol: (chainId: number, token: string) => string = (_, t) => t): string {
  if (!mismatches.length) return "no mismatches: the gateway's ledger agrees with the chain";
  const head = ["chain", "merchant", "token", "check", "gateway", "chain value", "detail"];
  const rows = mismatches.map((m) => [String(m.chainId), m.merchantId, symbol(m.chainId, m.token), m.check, m.gateway, m.chain, m.detail]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(width[i]!))).join("  ");
  return [line(head), line(width.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
