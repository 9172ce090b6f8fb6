import { hashTypedData, type Hex } from "viem";
import { openGatewayPayoutKey } from "../crypto/payoutKey.js";
import { payoutBatchTypedData, payoutBatchTypedDataJson, payoutTypedData, type PayoutBatch } from "../domain/payoutTypedData.js";
import { findConsoleOrder } from "../store/consoleQueries.js";
import {
  approvePayoutApplication,
  approvePayoutBatch,
  getPayoutApplications,
  MAX_BATCH_LINES,
  payoutBatchMessage,
  payoutMessage,
  type MerchantPayoutSetup,
  type PayoutApplication,
  type PayoutBatchRef,
  type PayoutOrderKind,
  type PayoutOrderRecord,
} from "../store/payoutOrders.js";
import type { ConsoleContext } from "./context.js";
import { checksummed } from "./format.js";
import { ConsoleError, type ConsoleUser } from "./session.js";
import { checkSignature } from "./signatures.js";

/** One payout the person chose to approve. */
export type ApprovalItem = { kind: PayoutOrderKind; id: string };

/** The EIP-712 typed data of a payout, exactly what PaymentVault.payout verifies. */
export function approvalTypedData(ctx: ConsoleContext, o: PayoutOrderRecord) {
  const chain = ctx.chain(o.chainId)!;
  return payoutTypedData({ chainId: chain.chainId, vault: chain.vault, payout: payoutMessage(o) });
}

/**
 * The typed data as a wallet's `eth_signTypedData_v4` takes it: with the EIP712Domain type listed, and the
 * integers as decimal strings (JSON has no bigint).
 */
export function walletTypedDataJson(ctx: ConsoleContext, o: PayoutOrderRecord): string {
  const td = approvalTypedData(ctx, o);
  const full = {
    ...td,
    types: {
      EIP712Domain: [
        { name: "name", type: "string" },
        { name: "version", type: "string" },
        { name: "chainId", type: "uint256" },
        { name: "verifyingContract", type: "address" },
      ],
      ...td.types,
    },
  };
  return JSON.stringify(full, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
}

/**
 * The merchant's payout signer, once `signature` over `digest` is checked as the vault checks it (ECDSA, else
 * ERC-1271 over the RPC). Gateway-held keys: no signature may be sent (the gateway signs). One check for a
 * single approval and a batch.
 */
async function verifiedSigner(
  ctx: ConsoleContext,
  user: ConsoleUser,
  chainId: number,
  digest: Hex,
  signature: Hex | undefined,
): Promise<string> {
  const [m] = await ctx.db.query<{ payout_signer: string | null; payout_key_mode: "merchant" | "gateway" }>(
    "SELECT payout_signer, payout_key_mode FROM merchants WHERE id = $1",
    [user.merchantId],
  );
  const signer = m?.payout_signer ?? null;
  if (!signer) throw new ConsoleError(409, "approve.noSigner");
  if (m!.payout_key_mode === "merchant") {
    if (!signature || !/^0x[0-9a-fA-F]+$/.test(signature)) throw new ConsoleError(400, "approve.signatureMissing");
    const check = await checkSignature(ctx, { chainId, address: signer, hash: digest, signature });
    if (!check.ok) {
      throw new ConsoleError(400, check.reason === "rpc_failed" ? "approve.rpcFailed" : "approve.wrongSigner", {
        signer: checksummed(signer),
        recovered: check.recovered ?? "—",
      });
    }
  } else if (signature) {
    throw new ConsoleError(400, "approve.signatureNotExpected");
  }
  return signer;
}

/**
 * Approves payouts from the console. One chosen payout whose application has one line: its own Payout
 * signature (`vault.payout`). Several chosen payouts, or a withdrawal of several recipients: ONE signature
 * over the vault's PayoutBatch of every line of their applications ({batchFromConsole}; `vault.payoutBatch`).
 *
 * Merchant-signed payouts: the signature must be the registered payout signer's, checked the way the vault
 * checks it (ECDSA, else ERC-1271 over the chain's RPC) BEFORE any row is locked; inside the approval's
 * transaction the order's digest and the signer are compared with what was verified, so a change in
 * between is refused. Gateway-held keys: no signature is sent; the gateway signs with the key it holds.
 */
export async function approveFromConsole(
  ctx: ConsoleContext,
  user: ConsoleUser,
  items: readonly ApprovalItem[],
  signature: Hex | undefined,
): Promise<PayoutOrderRecord[]> {
  if (items.length === 0) throw new ConsoleError(400, "approve.none");
  const prepared = await batchFromConsole(ctx, user, items);
  if (prepared.lines.length > 1) return approveBatchFromConsole(ctx, user, prepared, signature);
  const order = prepared.lines[0]!;
  if (order.status !== 0) throw new ConsoleError(409, "approve.notPending");
  if (order.payoutDeadline.getTime() <= Date.now()) throw new ConsoleError(409, "approve.deadlinePassed");
  const digest = hashTypedData(approvalTypedData(ctx, order));
  const signer = await verifiedSigner(ctx, user, order.chainId, digest, signature);

  // the vault checks one signature per Payout: an application of several lines (a multi-recipient withdrawal)
  // is approved with the batch payout's one signature, which the console does not build yet
  const approved = await approvePayoutApplication(ctx.db, {
    kind: order.kind,
    merchantId: user.merchantId,
    ref: { no: order.no },
    authorize: async (app, merchant) => {
      if (app.lines.length !== 1) throw new ConsoleError(409, "approve.changed");
      const locked = app.lines[0]!;
      // what was verified above must still be what is approved
      if (hashTypedData(approvalTypedData(ctx, locked)) !== digest || merchant.payoutSigner?.toLowerCase() !== signer.toLowerCase()) {
        throw new ConsoleError(409, "approve.changed");
      }
      if (merchant.payoutKeyMode === "merchant") return [{ signature: signature!, approvedBy: "merchant" }];
      return [{ signature: await gatewayAccount(ctx, merchant).signTypedData(approvalTypedData(ctx, locked)), approvedBy: "gateway" }];
    },
  });
  return approved.lines;
}

/**
 * The merchant's gateway-held payout key, opened to sign as its registered signer (the approvals check that
 * signer is the one verified); a console error, never the key, otherwise.
 */
function gatewayAccount(ctx: ConsoleContext, merchant: MerchantPayoutSetup) {
  const key = openGatewayPayoutKey(ctx.box, merchant);
  if (key.ok) return key.account;
  if (key.problem === "missing") throw new ConsoleError(409, "approve.noGatewayKey");
  if (key.problem === "unreadable") throw new ConsoleError(500, "approve.gatewayKeyUnreadable");
  throw new ConsoleError(409, "approve.gatewayKeyMismatch", { signer: checksummed(merchant.payoutSigner!) });
}

/** What a console batch approval signs: the applications of the chosen payouts and their PayoutBatch. */
export type ConsoleBatch = {
  refs: PayoutBatchRef[];
  apps: PayoutApplication[];
  lines: PayoutOrderRecord[];
  batch: PayoutBatch;
  chainId: number;
};

/**
 * The batch of the chosen payouts: each payout's whole application (a withdrawal's lines are approved
 * together), each once; all pending, on one chain, within the signing deadline and MAX_BATCH_LINES.
 */
export async function batchFromConsole(ctx: ConsoleContext, user: ConsoleUser, items: readonly ApprovalItem[]): Promise<ConsoleBatch> {
  if (items.length === 0) throw new ConsoleError(400, "approve.none");
  const refs: PayoutBatchRef[] = [];
  for (const item of items) {
    const found = await findConsoleOrder(ctx.db, item.kind, user.merchantId, item.id, user.chainIds);
    if (!found || found.kind === "payment" || found.kind === "recharge") throw new ConsoleError(404, "error.notFound");
    if (found.order.status !== 0) throw new ConsoleError(409, "approve.notPending");
    if (!refs.some((r) => r.kind === found.kind && r.no === found.order.no)) refs.push({ kind: found.kind, no: found.order.no });
  }
  const apps = await getPayoutApplications(ctx.db, user.merchantId, refs);
  const lines = apps.flatMap((a) => a.lines);
  if (lines.some((l) => l.status !== 0)) throw new ConsoleError(409, "approve.notPending");
  if (new Set(apps.map((a) => a.chainId)).size > 1) throw new ConsoleError(400, "approve.batchChains");
  if (lines.length > MAX_BATCH_LINES) throw new ConsoleError(400, "approve.batchTooLarge", { max: String(MAX_BATCH_LINES) });
  const batch = payoutBatchMessage(user.merchantId, lines);
  if (Number(batch.deadline) * 1000 <= Date.now()) throw new ConsoleError(409, "approve.deadlinePassed");
  return { refs, apps, lines, batch, chainId: apps[0]!.chainId };
}

/** The batch's typed data, exactly what PaymentVault.payoutBatch verifies. */
export function batchTypedData(ctx: ConsoleContext, b: ConsoleBatch) {
  const chain = ctx.chain(b.chainId)!;
  return payoutBatchTypedData({ chainId: chain.chainId, vault: chain.vault, batch: b.batch });
}

/** The batch's typed data for the wallet's eth_signTypedData_v4 (EIP712Domain listed, integers as strings). */
export function batchWalletTypedDataJson(ctx: ConsoleContext, b: ConsoleBatch): string {
  const chain = ctx.chain(b.chainId)!;
  return payoutBatchTypedDataJson({ chainId: chain.chainId, vault: chain.vault, batch: b.batch });
}

/**
 * Approves a console batch with one signature: checked as the vault checks it (ECDSA, else ERC-1271 over the
 * RPC) before any row is locked; in the approval's transaction the batch rebuilt from the locked lines and
 * the signer must be what was verified. Gateway-held keys: the gateway signs the batch.
 */
async function approveBatchFromConsole(
  ctx: ConsoleContext,
  user: ConsoleUser,
  b: ConsoleBatch,
  signature: Hex | undefined,
): Promise<PayoutOrderRecord[]> {
  const digest = hashTypedData(batchTypedData(ctx, b));
  const signer = await verifiedSigner(ctx, user, b.chainId, digest, signature);
  const done = await approvePayoutBatch(ctx.db, {
    merchantId: user.merchantId,
    refs: b.refs,
    authorize: async (apps, batch, merchant) => {
      const now: ConsoleBatch = { ...b, apps, batch };
      if (hashTypedData(batchTypedData(ctx, now)) !== digest || merchant.payoutSigner?.toLowerCase() !== signer.toLowerCase()) {
        throw new ConsoleError(409, "approve.changed");
      }
      if (merchant.payoutKeyMode === "merchant") return { signature: signature!, approvedBy: "merchant" };
      return { signature: await gatewayAccount(ctx, merchant).signTypedData(batchTypedData(ctx, now)), approvedBy: "gateway" };
    },
  });
  return done.applications.flatMap((a) => a.lines);
}
