import { recoverTypedDataAddress, type Hex } from "viem";
import { payoutTypedData } from "../../domain/payoutTypedData.js";
import { payoutMessage, type MerchantPayoutSetup, type PayoutAuthorization, type PayoutOrderRecord } from "../../store/payoutOrders.js";
import { checksum, type GatewayContext } from "../context.js";
import { ApiError, ErrorCode } from "../errors.js";

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
   * The `authorize` step of approvePayout: the deadline must lie ahead and the signature must recover to
   * the merchant's payout signer. `detailPath` names the route that hands out payoutTypedData.
   */
  const authorize =
    (signature: string | undefined, detailPath: string, noun: string) =>
    async (o: PayoutOrderRecord, merchant: MerchantPayoutSetup): Promise<PayoutAuthorization> => {
      if (!merchant.payoutSigner) {
        throw new ApiError(ErrorCode.PayoutSignerMissing, "The merchant has no payout signer: register one (createMerchant --signer) before approving payouts");
      }
      if (o.payoutDeadline.getTime() <= Date.now()) {
        throw new ApiError(ErrorCode.IllegalState, `The ${noun}'s payout deadline has passed: reject it and create a new one`);
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
  return { typedData, typedDataJson, authorize };
}
