import {
  createPublicClient,
  createWalletClient,
  http,
  keccak256,
  parseTransaction,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Db } from "../store/db.js";

export type OperatorTxPurpose = "sweep" | "payout";

export type SendParameters = {
  to: Address;
  data: Hex;
  purpose: OperatorTxPurpose;
  refId: string;
  refKind?: string;
  gas: bigint;
};

export type SettledTx = {
  txHash: string;
  purpose: OperatorTxPurpose;
  refId: string;
  refKind: string | null;
  outcome: "mined" | "reverted" | "dropped";
};

export type OperatorWallet = {
  readonly address: Address;
  readonly publicClient: PublicClient;
  /**
   * Signs, records (before broadcasting, so a restart re-sends the same bytes) and broadcasts one
   * transaction at the operator's next nonce. Returns its hash.
   */
  send(p: SendParameters): Promise<Hex>;
  /**
   * Looks at every pending transaction: mined or reverted ones are settled; one still pending after
   * `replaceAfterMs` is re-signed at the same nonce with fees raised by `feeBumpBps`; one whose nonce was
   * taken by another transaction is dropped. Pending ones are re-broadcast (a node may have forgotten them).
   * @returns what settled, so the caller can move its orders
   */
  checkPending(): Promise<SettledTx[]>;
  /** hashes of every signed transaction of a piece of work (replacements included) */
  hashesOf(refId: string): Promise<string[]>;
};

export type CreateOperatorWalletParameters = {
  db: Db;
  chainId: number;
  rpcUrl: string;
  privateKey: Hex;
  /** re-sign a transaction still pending after this long (default 60 s) */
  replaceAfterMs?: number;
  /** fee increase per replacement, basis points (default 2,500 = +25%; nodes want at least +10%) */
  feeBumpBps?: number;
};

/**
 * The operator key of one chain: nonce management, fees, and replacement of stuck transactions. One
 * process signs per chain at a time (the money movers run under a per-chain leader lock); nonces come from
 * the chain's pending count and the recorded pending transactions, whichever is higher.
 */
export function createOperatorWallet(args: CreateOperatorWalletParameters): OperatorWallet {
  const { db, chainId, replaceAfterMs = 60_000, feeBumpBps = 2_500 } = args;
  const account = privateKeyToAccount(args.privateKey);
  const transport = http(args.rpcUrl, { retryCount: 2 });
  const chain = {
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: "native", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [args.rpcUrl] } },
  };
  const publicClient = createPublicClient({ chain, transport, cacheTime: 0 }) as PublicClient;
  const wallet: WalletClient = createWalletClient({ account, chain, transport });
  const sender = account.address.toLowerCase();
  let queue = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.then(
      () => {},
      () => {},
    );
    return run;
  };

  async function fees(): Promise<{ maxFee: bigint; priorityFee: bigint }> {
    const block = await publicClient.getBlock({ blockTag: "latest" });
    const priorityFee = await publicClient.estimateMaxPriorityFeePerGas().catch(() => 1_000_000_000n);
    const base = block.baseFeePerGas ?? (await publicClient.getGasPrice());
    return { maxFee: base * 2n + priorityFee, priorityFee };
  }

  async function signAt(p: SendParameters & { nonce: number; maxFee: bigint; priorityFee: bigint }): Promise<{ raw: Hex; hash: Hex }> {
    const raw = await wallet.signTransaction({
      account,
      chain,
      to: p.to,
      data: p.data,
      gas: p.gas,
      nonce: p.nonce,
      maxFeePerGas: p.maxFee,
      maxPriorityFeePerGas: p.priorityFee,
      type: "eip1559",
    });
    return { raw, hash: keccak256(raw) };
  }

  async function record(p: SendParameters, nonce: number, signed: { raw: Hex; hash: Hex }, f: { maxFee: bigint; priorityFee: bigint }) {
    await db.query(
      `INSERT INTO operator_txs (tx_hash, chain_id, sender, nonce, purpose, ref_id, ref_kind, raw_tx, max_fee, priority_fee)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [signed.hash, chainId, sender, nonce, p.purpose, p.refId, p.refKind ?? null, signed.raw, f.maxFee, f.priorityFee],
    );
  }

  const broadcast = async (raw: Hex) => {
    try {
      await publicClient.sendRawTransaction({ serializedTransaction: raw });
    } catch (e) {
      // "already known" / "nonce too low" after a re-send: the receipt check decides what happened
      const m = String((e as Error).message).toLowerCase();
      if (!m.includes("already") && !m.includes("nonce too low") && !m.includes("known")) throw e;
    }
  };

  return {
    address: account.address,
    publicClient,
    send(p) {
      return serial(async () => {
        const chainNonce = await publicClient.getTransactionCount({ address: account.address, blockTag: "pending" });
        const [row] = await db.query<{ n: string | null }>(
          "SELECT max(nonce) + 1 AS n FROM operator_txs WHERE chain_id = $1 AND sender = $2 AND status = 'pending'",
          [chainId, sender],
        );
        const nonce = Math.max(chainNonce, row?.n == null ? 0 : Number(row.n));
        const f = await fees();
        const signed = await signAt({ ...p, nonce, ...f });
        await record(p, nonce, signed, f);
        await broadcast(signed.raw);
        return signed.hash;
      });
    },
    checkPending() {
      return serial(async () => {
        const pending = await db.query<Record<string, any>>(
          "SELECT * FROM operator_txs WHERE chain_id = $1 AND sender = $2 AND status = 'pending' ORDER BY nonce, sent_at",
          [chainId, sender],
        );
        if (pending.length === 0) return [];
        const minedCount = await publicClient.getTransactionCount({ address: account.address, blockTag: "latest" });
        const settled: SettledTx[] = [];
        const byNonce = new Map<number, Record<string, any>[]>();
        for (const r of pending) byNonce.set(Number(r.nonce), [...(byNonce.get(Number(r.nonce)) ?? []), r]);
        for (const [nonce, rows] of byNonce) {
          let minedHash: string | undefined;
          let reverted = false;
          for (const r of rows) {
            const receipt = await publicClient.getTransactionReceipt({ hash: r.tx_hash }).catch(() => null);
            if (receipt) {
              minedHash = r.tx_hash;
              reverted = receipt.status !== "success";
            }
          }
          if (minedHash) {
            for (const r of rows) {
              const outcome = r.tx_hash === minedHash ? (reverted ? "reverted" : "mined") : "replaced";
              await db.query("UPDATE operator_txs SET status = $2, settled_at = now() WHERE tx_hash = $1", [r.tx_hash, outcome]);
            }
            const r = rows.find((x) => x.tx_hash === minedHash)!;
            settled.push({
              txHash: minedHash,
              purpose: r.purpose,
              refId: r.ref_id,
              refKind: r.ref_kind,
              outcome: reverted ? "reverted" : "mined",
            });
            continue;
          }
          const last = rows[rows.length - 1]!;
          if (nonce < minedCount) {
            // another transaction of ours took this nonce: this work was not done
            for (const r of rows)
              await db.query("UPDATE operator_txs SET status = 'dropped', settled_at = now() WHERE tx_hash = $1", [r.tx_hash]);
            settled.push({ txHash: last.tx_hash, purpose: last.purpose, refId: last.ref_id, refKind: last.ref_kind, outcome: "dropped" });
            continue;
          }
          if (Date.now() - new Date(last.sent_at).getTime() >= replaceAfterMs) {
            const current = await fees();
            const bump = (v: bigint) => (v * BigInt(10_000 + feeBumpBps)) / 10_000n;
            const maxFee = bump(BigInt(last.max_fee)) > current.maxFee ? bump(BigInt(last.max_fee)) : current.maxFee;
            const priorityFee = bump(BigInt(last.priority_fee));
            // the recorded bytes hold the call: re-sign the same call at the same nonce with higher fees
            const tx = parseTransaction(last.raw_tx as Hex);
            const p: SendParameters = {
              to: tx.to as Address,
              data: (tx.data ?? "0x") as Hex,
              gas: tx.gas ?? 0n,
              purpose: last.purpose,
              refId: last.ref_id,
              refKind: last.ref_kind ?? undefined,
            };
            const signed = await signAt({ ...p, nonce, maxFee, priorityFee });
            await record(p, nonce, signed, { maxFee, priorityFee });
            await broadcast(signed.raw);
          } else {
            await broadcast(last.raw_tx);
          }
        }
        return settled;
      });
    },
    async hashesOf(refId) {
      return (await db.query<{ tx_hash: string }>("SELECT tx_hash FROM operator_txs WHERE ref_id = $1", [refId])).map((r) => r.tx_hash);
    },
  };
}
