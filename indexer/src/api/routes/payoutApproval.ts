import type { FastifyRequest } from "fastify";
import { recoverTypedDataAddress, type Hex } from "viem";
import { openGatewayPayoutKey } from "../../crypto/payoutKey.js";
import { PayoutStatus } from "../../domain/orderStateMachine.js";
import { payoutBatchTypedData, payoutTypedData, type PayoutBatch } from "../../domain/payoutTypedData.js";
import { getPayoutKeyMode } from "../../store/merchants.js";
import {
  MAX_BATCH_LINES,
  payoutMessage,
  type PayoutApprover,
  type MerchantPayoutSetup,
  type PayoutApplication,
  type PayoutAuthorization,
  type PayoutOrderRecord,
} from "../../store/payoutOrders.js";
import { ApiError, ErrorCode } from "../../wire/errors.js";
import { checksum, type GatewayContext } from "../context.js";

const SIGNATURE = "^0x[0-9a-fA-F]{130}$";

/** The signature fields of the approve routes: required unless the gateway holds the merchant's payout key. */
export const signatureFields = {
  signature: {
    type: "string",
    pattern: SIGNATURE,
    description: "the payout signer's EIP-712 signature over lines[0].payoutTypedData (one payout); omit when payoutKeyMode is gateway",
  },
  signatures: {
    type: "array",
    minItems: 1,
    maxItems: 100,
    items: { type: "string", pattern: SIGNATURE },
    description: "one signature per line, in line order, over each line's payoutTypedData (a withdrawal of several recipients)",
  },
};

/**
 * The approval of a payout application, one place for every kind: which signatures an approval needs and
 * where they come from. Today the vault verifies one EIP-712 Payout per payout, so an application of n lines
 * needs n signatures: the merchant's (checked against its registered payout signer) or, when the gateway holds
 * the payout key, the gateway's. When the vault accepts one signature over a batch of payouts, {authorize} is
 * the one function to change: it returns the authorization of every line.
 */
export function createPayoutApproval(ctx: GatewayContext) {
  const typedData = (o: PayoutOrderRecord) => {
    const chain = ctx.chain(o.chainId);
    return payoutTypedData({ chainId: chain.chainId, vault: chain.vault, payout: payoutMessage(o) });
  };

  /** The signatures a request sent, one per line (`signature` alone stands for a one-line application). */
  const signaturesOf = (b: { signature?: string; signatures?: string[] }): string[] | undefined => {
    if (b.signature !== undefined && b.signatures !== undefined) {
      throw new ApiError(ErrorCode.InvalidRequest, "Invalid request: send signature (one payout) or signatures (one per line), not both");
    }
    return b.signatures ?? (b.signature === undefined ? undefined : [b.signature]);
  };

  /** A merchant-mode approval without signatures is refused before any order is looked up (a missing field). */
  const requireSignatures = async (request: FastifyRequest, signatures: string[] | undefined) => {
    if (signatures !== undefined) return;
    if ((await getPayoutKeyMode(ctx.db, request.merchantId)) === "merchant") {
      throw new ApiError(
        ErrorCode.InvalidRequest,
        "Invalid request: body must have required property 'signature' (or 'signatures', one per line): payoutKeyMode is merchant, sign each line's payoutTypedData with the payout signer",
      );
    }
  };

  /**
   * The `authorize` step of approvePayoutApplication: every line's deadline must lie ahead; in merchant mode
   * there is one signature per line and each recovers to the payout signer; in gateway mode the gateway signs
   * each line with the key it holds (opened only here, never logged) after checking that it is the registered
   * signer. `detailPath` names the route that shows the payoutTypedData.
   */
  const authorize =
    (signatures: string[] | undefined, detailPath: string, noun: string) =>
    async (app: PayoutApplication, merchant: MerchantPayoutSetup): Promise<PayoutAuthorization[]> => {
      requireSignerSetup(merchant, signatures !== undefined);
      if (app.lines.some((l) => l.payoutDeadline.getTime() <= Date.now())) {
        throw new ApiError(ErrorCode.IllegalState, `The ${noun}'s payout deadline has passed: reject it and create a new one`);
      }
      if (merchant.payoutKeyMode === "gateway") {
        const account = gatewayAccount(merchant);
        return Promise.all(
          app.lines.map(async (l) => ({ signature: await account.signTypedData(typedData(l)), approvedBy: "gateway" as const })),
        );
      }
      if (signatures!.length !== app.lines.length) {
        throw new ApiError(
          ErrorCode.InvalidRequest,
          `Invalid request: the ${noun} has ${app.lines.length} line(s) and ${signatures!.length} signature(s) came: send one per line, in line order (${detailPath} lines[].payoutTypedData)`,
        );
      }
      return Promise.all(
        app.lines.map(async (l, i) => {
          const signer = await recoverTypedDataAddress({ ...typedData(l), signature: signatures![i] as Hex }).catch(() => null);
          if (signer?.toLowerCase() !== merchant.payoutSigner!.toLowerCase()) {
            throw new ApiError(
              ErrorCode.InvalidPayoutSignature,
              `The signature of line ${l.lineNo} recovers to ${signer ?? "nothing"}, not the payout signer ${checksum(merchant.payoutSigner)}: sign lines[${i}].payoutTypedData from ${detailPath} with that key`,
            );
          }
          return { signature: signatures![i]!, approvedBy: "merchant" as const };
        }),
      );
    };
  /** The EIP-712 PayoutBatch typed data of `batch` on `chainId`, as the vault's payoutBatch verifies it. */
  const batchTypedData = (chainId: number, batch: PayoutBatch) => {
    const chain = ctx.chain(chainId);
    return payoutBatchTypedData({ chainId: chain.chainId, vault: chain.vault, batch });
  };

  /**
   * What a batch may hold (checked before anything is signed or written): at least one application, each
   * named once, all pending approval, all on one chain (the signature's domain is one chain's vault), at
   * most MAX_BATCH_LINES payouts, the batch's deadline ahead.
   */
  const checkBatchable = (apps: PayoutApplication[], batch: PayoutBatch) => {
    const name = (a: PayoutApplication) => `${a.kind} ${a.no}`;
    const seen = new Set<string>();
    for (const a of apps) {
      if (seen.has(name(a)))
        throw new ApiError(ErrorCode.InvalidRequest, `Invalid request: ${name(a)} is named twice: name each application once`);
      seen.add(name(a));
      if (a.lines.some((l) => l.status !== PayoutStatus.PendingApproval)) {
        throw new ApiError(ErrorCode.IllegalState, `The ${name(a)} is not pending approval (state ${a.status}): leave it out of the batch`);
      }
    }
    const chains = [...new Set(apps.map((a) => a.chainId))];
    if (chains.length > 1) {
      throw new ApiError(
        ErrorCode.InvalidRequest,
        `Invalid request: a batch pays on one chain, these applications are on chains ${chains.join(", ")}: send one batch per chain`,
      );
    }
    if (batch.payouts.length > MAX_BATCH_LINES) {
      throw new ApiError(
        ErrorCode.InvalidRequest,
        `Invalid request: the batch has ${batch.payouts.length} payouts, at most ${MAX_BATCH_LINES} fit in one: split it`,
      );
    }
    if (Number(batch.deadline) * 1000 <= Date.now()) {
      throw new ApiError(
        ErrorCode.IllegalState,
        "A payout of the batch is past its deadline: reject it and create a new one, or leave it out",
      );
    }
  };

  const NO_GATEWAY_KEY = "The gateway holds no payout key for this merchant: ask the operator to create one";

  /** The merchant's signing setup fits the request: a signature only in merchant mode, a signer (and in gateway mode a key) registered. */
  const requireSignerSetup = (merchant: MerchantPayoutSetup, signatureGiven: boolean) => {
    if (merchant.payoutKeyMode === "gateway" && signatureGiven) {
      throw new ApiError(
        ErrorCode.SignatureNotExpected,
        "The gateway holds this merchant's payout key (payoutKeyMode gateway): approve without a signature",
      );
    }
    if (!merchant.payoutSigner || (merchant.payoutKeyMode === "gateway" && !merchant.payoutKeySealed)) {
      throw new ApiError(
        ErrorCode.PayoutSignerMissing,
        merchant.payoutKeyMode === "gateway"
          ? NO_GATEWAY_KEY
          : "The merchant has no payout signer: register one (createMerchant --signer) before approving payouts",
      );
    }
  };

  /** The gateway-held key of a merchant in gateway mode (checked by {requireSignerSetup}), opened to sign as the registered signer. */
  const gatewayAccount = (merchant: MerchantPayoutSetup) => {
    const key = openGatewayPayoutKey(ctx.box, merchant);
    if (key.ok) return key.account;
    if (key.problem === "missing") throw new ApiError(ErrorCode.PayoutSignerMissing, NO_GATEWAY_KEY);
    if (key.problem === "unreadable") {
      throw new ApiError(ErrorCode.Internal, "The gateway-held payout key could not be opened: ask the operator to check the master key");
    }
    // the registered signer was changed by hand: signing would give a payout the vault refuses
    throw new ApiError(
      ErrorCode.PayoutSignerMissing,
      `The gateway-held payout key is not the registered payout signer ${checksum(merchant.payoutSigner!)}: ask the operator to fix the merchant`,
    );
  };

  /**
   * The `authorize` step of approvePayoutBatch: the batch is checked ({checkBatchable}); in merchant mode
   * `signature` must recover, over the same PayoutBatch typed data the vault hashes, to the registered payout
   * signer; in gateway mode the gateway signs the batch with the key it holds.
   */
  const authorizeBatch =
    (signature: string | undefined) =>
    async (
      apps: PayoutApplication[],
      batch: PayoutBatch,
      merchant: MerchantPayoutSetup,
    ): Promise<{ signature: string; approvedBy: PayoutApprover }> => {
      checkBatchable(apps, batch);
      requireSignerSetup(merchant, signature !== undefined);
      const account = merchant.payoutKeyMode === "gateway" ? gatewayAccount(merchant) : null;
      const typed = batchTypedData(apps[0]!.chainId, batch);
      if (account) return { signature: await account.signTypedData(typed), approvedBy: "gateway" };
      if (signature === undefined) {
        throw new ApiError(
          ErrorCode.InvalidRequest,
          "Invalid request: body must have required property 'signature': payoutKeyMode is merchant, sign the payoutTypedData of payout/batch/typedData with the payout signer",
        );
      }
      const signer = await recoverTypedDataAddress({ ...typed, signature: signature as Hex }).catch(() => null);
      if (signer?.toLowerCase() !== merchant.payoutSigner!.toLowerCase()) {
        throw new ApiError(
          ErrorCode.InvalidPayoutSignature,
          `The batch signature recovers to ${signer ?? "nothing"}, not the payout signer ${checksum(merchant.payoutSigner!)}: sign the payoutTypedData of payout/batch/typedData (for exactly these applications) with that key`,
        );
      }
      return { signature, approvedBy: "merchant" };
    };

  return { typedData, signaturesOf, requireSignatures, authorize, batchTypedData, checkBatchable, authorizeBatch };
}
