import type { FastifyRequest } from "fastify";
import { recoverTypedDataAddress, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { payoutTypedData } from "../../domain/payoutTypedData.js";
import { getPayoutKeyMode } from "../../store/merchants.js";
import { payoutMessage, type MerchantPayoutSetup, type PayoutAuthorization, type PayoutOrderRecord } from "../../store/payoutOrders.js";
import { checksum, type GatewayContext } from "../context.js";
import { ApiError, ErrorCode } from "../errors.js";

/** The `signature` field of the approve routes: required unless the gateway holds the merchant's payout key. */
export const payoutSignatureField = {
  type: "string",
  pattern: "^0x[0-9a-fA-F]{130}$",
  description: "the payout signer's EIP-712 signature over payoutTypedData; omit it when payoutKeyMode is gateway (the gateway signs)",
};

export const approvedByField = {
  type: ["string", "null"],
  enum: ["merchant", "gateway", null],
  description: "who signed the approval: the merchant's payout key or the gateway-held one; null until approved",
};

/** What the three payout route files share: the EIP-712 data of an order and the approval check. */
export function createPayoutApproval(ctx: GatewayContext) {
  const typedData = (o: PayoutOrderRecord) => {
    const chain = ctx.chain(o.chainId);
    return payoutTypedData({ chainId: chain.chainId, vault: chain.vault, payout: payoutMessage(o) });
  };
  const jsonSafe = (v: unknown) => JSON.parse(JSON.stringify(v, (_, x) => (typeof x === "bigint" ? x.toString() : x)));
  /** the EIP-712 data as JSON (integers as strings), for the detail responses while pending */
  const typedDataJson = (o: PayoutOrderRecord) => jsonSafe(typedData(o));

  /**
   * Refuses a merchant-mode approval without a signature before any order is looked up (the field is
   * required for those merchants, so this is a 40001 like any missing field).
   */
  const requireSignature = async (request: FastifyRequest, signature: string | undefined) => {
    if (signature !== undefined) return;
    if ((await getPayoutKeyMode(ctx.db, request.merchantId)) === "merchant") {
      throw new ApiError(
        ErrorCode.InvalidRequest,
        "Invalid request: body must have required property 'signature' (payoutKeyMode is merchant: sign payoutTypedData with the payout signer)",
      );
    }
  };

  /**
   * The `authorize` step of approvePayout: the deadline must lie ahead; in merchant mode the signature must
   * recover to the payout signer; in gateway mode the gateway signs with the key it holds (opened only
   * here, never logged) and checks that the key is the registered signer. `detailPath` names the route
   * that hands out payoutTypedData.
   */
  const authorize =
    (signature: string | undefined, detailPath: string, noun: string) =>
    async (o: PayoutOrderRecord, merchant: MerchantPayoutSetup): Promise<PayoutAuthorization> => {
      if (merchant.payoutKeyMode === "gateway" && signature !== undefined) {
        throw new ApiError(
          ErrorCode.SignatureNotExpected,
          "The gateway holds this merchant's payout key (payoutKeyMode gateway): approve without a signature",
        );
      }
      if (!merchant.payoutSigner || (merchant.payoutKeyMode === "gateway" && !merchant.payoutKeySealed)) {
        throw new ApiError(
          ErrorCode.PayoutSignerMissing,
          merchant.payoutKeyMode === "gateway"
            ? "The gateway holds no payout key for this merchant: ask the operator to create one"
            : "The merchant has no payout signer: register one (createMerchant --signer) before approving payouts",
        );
      }
      if (o.payoutDeadline.getTime() <= Date.now()) {
        throw new ApiError(ErrorCode.IllegalState, `The ${noun}'s payout deadline has passed: reject it and create a new one`);
      }
      if (merchant.payoutKeyMode === "gateway") {
        let account: ReturnType<typeof privateKeyToAccount>;
        try {
          account = privateKeyToAccount(ctx.box.open(merchant.payoutKeySealed!) as Hex);
        } catch {
          // no cause attached: an error about the key must never carry (and log) the key
          throw new ApiError(ErrorCode.Internal, "The gateway-held payout key could not be opened: ask the operator to check the master key");
        }
        if (account.address.toLowerCase() !== merchant.payoutSigner.toLowerCase()) {
          // the registered signer was changed by hand: signing would give a payout the vault refuses
          throw new ApiError(
            ErrorCode.PayoutSignerMissing,
            `The gateway-held payout key is not the registered payout signer ${checksum(merchant.payoutSigner)}: ask the operator to fix the merchant`,
          );
        }
        return { signature: await account.signTypedData(typedData(o)), approvedBy: "gateway" };
      }
      const signer = await recoverTypedDataAddress({ ...typedData(o), signature: signature as Hex }).catch(() => null);
      if (signer?.toLowerCase() !== merchant.payoutSigner.toLowerCase()) {
        throw new ApiError(
          ErrorCode.InvalidPayoutSignature,
          `The signature recovers to ${signer ?? "nothing"}, not the payout signer ${checksum(merchant.payoutSigner)}: sign payoutTypedData from ${detailPath} with that key`,
        );
      }
      return { signature: signature!, approvedBy: "merchant" };
    };
  return { typedData, typedDataJson, requireSignature, authorize };
}
