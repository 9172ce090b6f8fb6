import type { FastifyInstance } from "fastify";
import { payoutBatchTypedDataJson } from "../../domain/payoutTypedData.js";
import {
  approvePayoutBatch,
  getPayoutApplications,
  MAX_BATCH_LINES,
  payoutBatchMessage,
  type PayoutApplication,
  type PayoutBatchRef,
  type PayoutOrderKind,
} from "../../store/payoutOrders.js";
import { getPayoutKeyMode } from "../../store/merchants.js";
import { units } from "../../wire/amounts.js";
import { ApiError, ErrorCode } from "../../wire/errors.js";
import { currencyOf, PAYOUT_FIELDS, presentPayout } from "../../wire/presenters.js";
import { envelope, errorResponses } from "../../wire/schemas.js";
import { checksum, type GatewayContext } from "../context.js";
import { ok } from "./common.js";
import { createPayoutApproval } from "./payoutApproval.js";

/** The request fields naming the applications of a batch, per kind. */
const ID_FIELDS: Record<string, PayoutOrderKind> = { refundIds: "refund", withdrawIds: "withdrawal", settlementIds: "settlement" };
const IDS = "^[1-9][0-9]{0,17}(,[1-9][0-9]{0,17})*$";

const idsField = (noun: string) => ({
  anyOf: [
    { type: "string", pattern: IDS },
    { type: "array", minItems: 1, maxItems: MAX_BATCH_LINES, items: { type: "integer", minimum: 1 } },
  ],
  description: `${noun} numbers: comma-separated (or a JSON array in a body)`,
});
const idProps = { refundIds: idsField("refund"), withdrawIds: idsField("withdrawal"), settlementIds: idsField("settlement") };

/** The applications a request names, refunds first, each kind in the order given. */
function refsOf(q: Record<string, unknown>): PayoutBatchRef[] {
  const refs: PayoutBatchRef[] = [];
  for (const [field, kind] of Object.entries(ID_FIELDS)) {
    const v = q[field];
    if (v === undefined) continue;
    const list = Array.isArray(v) ? v.map(String) : String(v).split(",");
    for (const id of list) refs.push({ kind, no: BigInt(id) });
  }
  if (refs.length === 0)
    throw new ApiError(
      ErrorCode.InvalidRequest,
      "Invalid request: name the applications of the batch: refundIds, withdrawIds and/or settlementIds",
    );
  if (refs.length > MAX_BATCH_LINES)
    throw new ApiError(ErrorCode.InvalidRequest, `Invalid request: at most ${MAX_BATCH_LINES} applications per batch`);
  return refs;
}

/**
 * Batch approval (issues 11 and 15): several pending refunds, withdrawals and settlements of the merchant on
 * one chain approved with ONE EIP-712 `PayoutBatch` signature, which the executor sends as one
 * `PaymentVault.payoutBatch` transaction. `payout/batch/typedData` shows what to sign (every recipient and
 * amount); `payout/batch/approve` takes the same list and the signature (none in gateway-key mode). The
 * per-application approve routes and their per-line signatures keep working.
 */
export function payoutBatchRoutes(ctx: GatewayContext) {
  return async function (app: FastifyInstance) {
    const approval = createPayoutApproval(ctx);
    const tags = ["payout"];
    const loose = { type: "object", additionalProperties: true };

    app.get<{ Querystring: Record<string, string> }>(
      "/payout/batch/typedData",
      {
        schema: {
          summary:
            "Addition: the EIP-712 PayoutBatch (domain PaymentVault/1/chainId/vault; integers as strings) that approves every line of the named pending applications with one signature: the items in payout id order, the deadline the earliest line's. Sign it with the payout signer and send it to payout/batch/approve with the same ids",
          tags,
          operationId: "payoutBatchTypedData",
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: {
              refundIds: { type: "string", pattern: IDS },
              withdrawIds: { type: "string", pattern: IDS },
              settlementIds: { type: "string", pattern: IDS },
            },
          },
          response: { 200: envelope(loose), ...errorResponses },
        },
      },
      async (request) => {
        const apps = await getPayoutApplications(ctx.db, request.merchantId, refsOf(request.query));
        const batch = payoutBatchMessage(
          request.merchantId,
          apps.flatMap((a) => a.lines),
        );
        approval.checkBatchable(apps, batch);
        const chain = ctx.chain(apps[0]!.chainId);
        const byId = new Map(apps.flatMap((a) => a.lines.map((l) => [l.payoutId, { a, l }] as const)));
        return ok({
          chainId: chain.chainId,
          deadline: Number(batch.deadline),
          items: batch.payouts.map((p) => {
            const { a, l } = byId.get(p.payoutId)!;
            const c = currencyOf(ctx.wire, a.chainId, l.tokenAddress);
            return {
              kind: a.kind,
              [PAYOUT_FIELDS[a.kind].id]: Number(a.no),
              lineNo: l.lineNo,
              payoutId: p.payoutId.toString(),
              toAddress: checksum(l.toAddress),
              amount: units(l.amount),
              symbol: c.symbol,
              decimals: c.decimals,
            };
          }),
          payoutTypedData: JSON.parse(payoutBatchTypedDataJson({ chainId: chain.chainId, vault: chain.vault, batch })),
        });
      },
    );

    app.post<{ Body: Record<string, any> }>(
      "/payout/batch/approve",
      {
        schema: {
          summary:
            "Addition: approve the named pending applications (every line) with one EIP-712 PayoutBatch signature from the payout signer over payout/batch/typedData's payoutTypedData, or none when the gateway holds the payout key. The gateway verifies the signature as the vault will and changes nothing when it does not recover to the payout signer",
          tags,
          operationId: "payoutBatchApprove",
          body: {
            type: "object",
            additionalProperties: false,
            properties: {
              ...idProps,
              signature: {
                type: "string",
                pattern: "^0x[0-9a-fA-F]{130}$",
                description: "the payout signer's signature of the PayoutBatch; omit when payoutKeyMode is gateway",
              },
            },
          },
          response: { 200: envelope(loose), ...errorResponses },
        },
      },
      async (request) => {
        const refs = refsOf(request.body);
        if (request.body.signature === undefined && (await getPayoutKeyMode(ctx.db, request.merchantId)) === "merchant") {
          throw new ApiError(
            ErrorCode.InvalidRequest,
            "Invalid request: body must have required property 'signature': payoutKeyMode is merchant, sign the payoutTypedData of payout/batch/typedData with the payout signer",
          );
        }
        const r = await approvePayoutBatch(ctx.db, {
          merchantId: request.merchantId,
          refs,
          authorize: approval.authorizeBatch(request.body.signature),
        });
        const of = (k: PayoutOrderKind) =>
          r.applications.filter((a: PayoutApplication) => a.kind === k).map((a) => presentPayout(ctx.wire, a));
        return ok({
          batchId: r.batchId,
          payoutCount: r.batch.payouts.length,
          deadline: Number(r.batch.deadline),
          refunds: of("refund"),
          withdrawals: of("withdrawal"),
          settlements: of("settlement"),
        });
      },
    );
  };
}
