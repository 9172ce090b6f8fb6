import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import {
  approvePayoutApplication,
  getPayoutApplication,
  listPayoutApplications,
  rejectPayoutApplication,
  requeuePayoutNotification,
  type PayoutApplication,
  type PayoutOrderKind,
  type PayoutRef,
} from "../../store/payoutOrders.js";
import { createRefundOrder } from "../../store/refundOrders.js";
import { createSettlementOrder } from "../../store/settlementOrders.js";
import { createWithdrawal } from "../../store/withdrawalOrders.js";
import { canonicalDecimal, merchantAmount } from "../../wire/amounts.js";
import { ApiError, ErrorCode } from "../../wire/errors.js";
import { PAYOUT_FIELDS, presentPage, presentPayout } from "../../wire/presenters.js";
import {
  addressField,
  chainIdField,
  decimalField,
  envelope,
  errorResponses,
  httpUrl,
  intField,
  keyField,
  listQuery,
  pageOf as pageSchema,
  qInt,
  qKey,
  ref,
} from "../../wire/schemas.js";
import { PAYOUT_STATUS, PayPayoutStatus, statesOf } from "../../wire/status.js";
import type { GatewayContext } from "../context.js";
import {
  addressOf,
  bodyProps,
  chainOf,
  checkRecipient,
  intOf,
  notifyRoute,
  ok,
  pageOf,
  statusCodeOf,
  timeRangeOf,
  txHashOf,
} from "./common.js";
import { createPayoutApproval, signatureFields } from "./payoutApproval.js";

/**
 * Refunds, withdrawals and settlements are one shape (issue 10): a payout application the merchant creates,
 * approves (with its payout signer's EIP-712 signatures, or none when the gateway holds the key), rejects,
 * reads (detail, list) and asks to call back again (notify). One module with a parameter: each kind names its
 * paths, its id field and its create route; everything else is shared.
 */
type KindSpec = {
  kind: PayoutOrderKind;
  /** path prefix: refund/…, withdraw/…, settlement/… */
  prefix: string;
  noun: string;
  /** the detail/notify/approve/reject reference fields besides the id (query strings are text) */
  refProps: Record<string, unknown>;
  refOf(q: Record<string, unknown>): PayoutRef;
  create: {
    path: string;
    summary: string;
    idempotentBy: string[];
    body: Record<string, unknown>;
    handle(request: FastifyRequest<{ Body: Record<string, any> }>): Promise<PayoutApplication>;
  };
};

const STATUS_TEXT = "0 success, 1 pending approval, 2 under review, 3 block confirmation, 4 failure, 5 rejected";
const STATUS_CODES = Object.values(PayPayoutStatus);
const hash = (v: unknown[]) => createHash("sha256").update(JSON.stringify(v)).digest("hex");

/** withdrawAddress / withdrawAmount: comma-separated, paired 1:1 (Pay Protocol's "Merchant Pro"), at most 100. */
function linesOf(
  addresses: string,
  amounts: string | number,
  f: { address: string; amount: string },
  token: { decimals: number; symbol: string },
) {
  const as = addresses.split(",").map((a) => a.trim());
  const ns = typeof amounts === "number" ? [amounts] : amounts.split(",").map((a) => a.trim());
  if (as.length !== ns.length) {
    throw new ApiError(
      ErrorCode.InvalidRequest,
      `Invalid request: ${f.address} names ${as.length} address(es) and ${f.amount} ${ns.length} amount(s): pair them 1:1, comma-separated in the same order`,
    );
  }
  if (as.length > 100) throw new ApiError(ErrorCode.InvalidRequest, `Invalid request: at most 100 recipients per ${f.address}`);
  return as.map((a, i) => {
    const field = as.length === 1 ? f.amount : `${f.amount}[${i + 1}]`;
    return {
      toAddress: addressOf(a, as.length === 1 ? f.address : `${f.address}[${i + 1}]`),
      amount: merchantAmount(ns[i], { field, decimals: token.decimals, symbol: token.symbol }),
      canonical: canonicalDecimal(ns[i], field),
    };
  });
}

function specs(ctx: GatewayContext): KindSpec[] {
  const own = (q: Record<string, unknown>, idField: string): PayoutRef => {
    if (q[idField] === undefined && q.outTradeNo === undefined)
      throw new ApiError(ErrorCode.InvalidRequest, `Invalid request: give ${idField} or outTradeNo`);
    return {
      no: q[idField] === undefined ? undefined : BigInt(intOf(q[idField], idField)),
      merchantRef: q.outTradeNo === undefined ? undefined : String(q.outTradeNo),
    };
  };
  const recipients = async (lines: { toAddress: string }[], field: string) => {
    for (const [i, l] of lines.entries()) await checkRecipient(ctx, l.toAddress, lines.length === 1 ? field : `${field}[${i + 1}]`);
  };
  return [
    {
      kind: "refund",
      prefix: "refund",
      noun: "refund",
      refProps: {
        refundId: qInt("the refund's number"),
        outTradeNo: qKey("the payment's outTradeNo (alone: its latest refund)"),
        outRefundNo: qKey("addition: the merchant's refund key"),
      },
      refOf(q) {
        if (q.refundId === undefined && q.outTradeNo === undefined && q.outRefundNo === undefined) {
          throw new ApiError(ErrorCode.InvalidRequest, "Invalid request: give refundId or outTradeNo (or both)");
        }
        return {
          no: q.refundId === undefined ? undefined : BigInt(intOf(q.refundId, "refundId")),
          paymentOutTradeNo: q.outTradeNo === undefined ? undefined : String(q.outTradeNo),
          merchantRef: q.outRefundNo === undefined ? undefined : String(q.outRefundNo),
        };
      },
      create: {
        path: "refund/createRefundOrder",
        summary:
          "Refund part or all of a closed payment, pending the merchant's approval (refund/approve). refundAmount defaults to everything still refundable, refundAddress to the payer. Without outRefundNo each signed request is a new refund (accepted once)",
        idempotentBy: ["outRefundNo"],
        body: {
          type: "object",
          additionalProperties: false,
          properties: {
            outTradeNo: keyField("the payment's outTradeNo"),
            outPaymentNo: keyField("the payment's outPaymentNo (with or instead of outTradeNo)"),
            refundAmount: decimalField(
              "the amount to refund in the payment's currency (default: everything received and not yet refunded)",
            ),
            refundAddress: addressField("the recipient (default: the sender of the payment)"),
            notifyUrl: { ...httpUrl, description: "where the refund callback goes (default: the payment's notifyUrl)" },
            outRefundNo: keyField("addition: the merchant's refund key; a repeat answers the same refund"),
            reason: { type: "string", maxLength: 256, description: "addition: shown in the refund" },
          },
        },
        async handle(request) {
          const b = request.body as {
            outTradeNo?: string;
            outPaymentNo?: string;
            refundAmount?: string | number;
            refundAddress?: string;
            notifyUrl?: string;
            outRefundNo?: string;
            reason?: string;
          };
          if (b.outTradeNo === undefined && b.outPaymentNo === undefined) {
            throw new ApiError(ErrorCode.InvalidRequest, "Invalid request: give the payment's outTradeNo or outPaymentNo");
          }
          const to = b.refundAddress === undefined ? null : addressOf(b.refundAddress, "refundAddress");
          const requestHash = hash([
            b.outTradeNo ?? null,
            b.outPaymentNo ?? null,
            b.refundAmount === undefined ? null : canonicalDecimal(b.refundAmount, "refundAmount"),
            to,
            b.reason ?? null,
            b.notifyUrl ?? null,
          ]);
          const { refund } = await createRefundOrder(ctx.db, {
            merchantId: request.merchantId,
            payment: { merchantOrderId: b.outTradeNo, payOrderId: b.outPaymentNo },
            outRefundNo: b.outRefundNo ?? null,
            requestHash,
            amount: (payment, refundable) => {
              if (b.refundAmount !== undefined) {
                return merchantAmount(b.refundAmount, {
                  field: "refundAmount",
                  decimals: payment.tokenDecimals,
                  symbol: payment.tokenSymbol,
                });
              }
              if (refundable === 0n) {
                throw new ApiError(
                  ErrorCode.IllegalState,
                  `Nothing of ${payment.merchantOrderId} is left to refund (paid ${payment.paidAmount}, refunded ${payment.refundedAmount} base units)`,
                );
              }
              return refundable;
            },
            toAddress: to,
            checkRecipient: (tx, _payment, address) =>
              checkRecipient(ctx, address, b.refundAddress === undefined ? "refundAddress (the payer)" : "refundAddress", tx),
            reason: b.reason ?? null,
            notifyUrl: b.notifyUrl ?? null,
            payoutDeadlineSeconds: ctx.config.payoutDeadlineSeconds,
          });
          return refund;
        },
      },
    },
    {
      kind: "withdrawal",
      prefix: "withdraw",
      noun: "withdrawal",
      refProps: { withdrawId: qInt("the withdrawal's number"), outTradeNo: qKey("the merchant's withdrawal number") },
      refOf: (q) => own(q, "withdrawId"),
      create: {
        path: "withdraw/apply",
        summary:
          "Pay one or more recipients from the merchant's vault balance, pending approval (withdraw/approve). Comma-separated withdrawAddress and withdrawAmount pair 1:1 and make one withdrawal of several lines, each its own vault payout. Idempotent by outTradeNo; without it each signed request is a new withdrawal (accepted once)",
        idempotentBy: ["outTradeNo"],
        body: {
          type: "object",
          additionalProperties: false,
          required: ["chainId", "currencyId", "withdrawAddress", "withdrawAmount"],
          properties: {
            chainId: chainIdField,
            currencyId: intField("the currency to pay (conf/list/currency)"),
            withdrawAddress: { type: "string", minLength: 42, maxLength: 4400, description: "recipient(s): 0x addresses, comma-separated" },
            withdrawAmount: decimalField("amount(s) in the currency's units, comma-separated in the same order"),
            outTradeNo: keyField("the merchant's withdrawal number (optional; not blank)"),
            notifyUrl: { ...httpUrl, description: "where the withdrawal callback goes (default: the merchant's recharge callback URL)" },
          },
        },
        async handle(request) {
          const b = request.body as {
            chainId: number | string;
            currencyId: number | string;
            withdrawAddress: string;
            withdrawAmount: string | number;
            outTradeNo?: string;
            notifyUrl?: string;
          };
          const chain = chainOf(ctx, b.chainId);
          const token = ctx.currency(chain, intOf(b.currencyId, "currencyId"));
          const lines = linesOf(b.withdrawAddress, b.withdrawAmount, { address: "withdrawAddress", amount: "withdrawAmount" }, token);
          await recipients(lines, "withdrawAddress");
          const requestHash = hash([
            chain.chainId,
            token.address.toLowerCase(),
            lines.map((l) => [l.toAddress, l.canonical]),
            b.notifyUrl ?? null,
          ]);
          const { withdrawal } = await createWithdrawal(ctx.db, {
            merchantId: request.merchantId,
            outTradeNo: b.outTradeNo ?? null,
            requestHash,
            chainId: chain.chainId,
            tokenAddress: token.address,
            lines,
            notifyUrl: b.notifyUrl ?? null,
            payoutDeadlineSeconds: ctx.config.payoutDeadlineSeconds,
          });
          return withdrawal;
        },
      },
    },
    {
      kind: "settlement",
      prefix: "settlement",
      noun: "settlement",
      refProps: { settlementId: qInt("the settlement's number"), outTradeNo: qKey("the merchant's settlement number") },
      refOf: (q) => own(q, "settlementId"),
      create: {
        path: "settlement/apply",
        summary:
          "Addition: settle part of the merchant's vault balance to an address of its own, pending approval (settlement/approve). Idempotent by outTradeNo; without it each signed request is a new settlement (accepted once)",
        idempotentBy: ["outTradeNo"],
        body: {
          type: "object",
          additionalProperties: false,
          required: ["chainId", "currencyId", "settlementAddress", "settlementAmount"],
          properties: {
            chainId: chainIdField,
            currencyId: intField("the currency to settle (conf/list/currency)"),
            settlementAddress: addressField("the merchant's own address"),
            settlementAmount: decimalField("the amount in the currency's units"),
            outTradeNo: keyField("the merchant's settlement number (optional; not blank)"),
            notifyUrl: { ...httpUrl, description: "where the settlement callback goes (default: the merchant's recharge callback URL)" },
          },
        },
        async handle(request) {
          const b = request.body as {
            chainId: number | string;
            currencyId: number | string;
            settlementAddress: string;
            settlementAmount: string | number;
            outTradeNo?: string;
            notifyUrl?: string;
          };
          const chain = chainOf(ctx, b.chainId);
          const token = ctx.currency(chain, intOf(b.currencyId, "currencyId"));
          const [line] = linesOf(
            b.settlementAddress,
            String(b.settlementAmount),
            { address: "settlementAddress", amount: "settlementAmount" },
            token,
          );
          await recipients([line!], "settlementAddress");
          const requestHash = hash([chain.chainId, token.address.toLowerCase(), line!.toAddress, line!.canonical, b.notifyUrl ?? null]);
          const { settlement } = await createSettlementOrder(ctx.db, {
            merchantId: request.merchantId,
            outTradeNo: b.outTradeNo ?? null,
            requestHash,
            chainId: chain.chainId,
            tokenAddress: token.address,
            amount: line!.amount,
            toAddress: line!.toAddress,
            notifyUrl: b.notifyUrl ?? null,
            payoutDeadlineSeconds: ctx.config.payoutDeadlineSeconds,
          });
          return settlement;
        },
      },
    },
  ];
}

/** The payout routes of one kind: create, detail, list, notify (Pay Protocol's), approve and reject (the gateway's). */
export function payoutRoutes(ctx: GatewayContext, kind: PayoutOrderKind) {
  const spec = specs(ctx).find((s) => s.kind === kind)!;
  const f = PAYOUT_FIELDS[kind];
  const schemaId = kind === "refund" ? "Refund" : kind === "withdrawal" ? "Withdrawal" : "Settlement";
  const tags = [spec.prefix];
  const one = { 200: envelope(ref(schemaId)), ...errorResponses };
  const bodyRef = (extra: Record<string, unknown>) => {
    return { type: "object", additionalProperties: false, properties: { ...bodyProps(spec.refProps), ...extra } };
  };

  return async function (app: FastifyInstance) {
    const approval = createPayoutApproval(ctx);

    app.post<{ Body: Record<string, any> }>(
      `/${spec.create.path}`,
      {
        config: { idempotentBy: spec.create.idempotentBy },
        schema: {
          summary: spec.create.summary,
          tags,
          operationId: spec.create.path.replace(/\/(.)/g, (_, c: string) => c.toUpperCase()),
          body: spec.create.body,
          response: {
            200: envelope({
              type: "object",
              required: [f.id],
              properties: { [f.id]: { type: "integer", description: `the ${spec.noun}'s number` } },
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => ok({ [f.id]: Number((await spec.create.handle(request)).no) }),
    );

    app.get<{ Querystring: Record<string, string> }>(
      `/${spec.prefix}/detail`,
      {
        schema: {
          summary: `A ${spec.noun}: the object its callback carries`,
          tags,
          operationId: `${spec.prefix}Detail`,
          querystring: { type: "object", additionalProperties: false, properties: spec.refProps },
          response: one,
        },
      },
      async (request) =>
        ok(presentPayout(ctx.wire, await getPayoutApplication(ctx.db, kind, request.merchantId, spec.refOf(request.query)))),
    );

    app.get<{ Querystring: Record<string, string | undefined> }>(
      `/${spec.prefix}/list`,
      {
        schema: {
          summary: `The merchant's ${spec.noun}s, newest first, a page at a time`,
          tags,
          operationId: `${spec.prefix}List`,
          querystring: listQuery(`${f.status}: ${STATUS_TEXT}`),
          response: { 200: envelope(pageSchema(schemaId)), ...errorResponses },
        },
      },
      async (request) => {
        const q = request.query;
        const page = pageOf(q);
        const code = statusCodeOf(q, STATUS_CODES, STATUS_TEXT);
        const { count, list } = await listPayoutApplications(
          ctx.db,
          kind,
          request.merchantId,
          {
            chainId: q.chainId === undefined ? undefined : Number(q.chainId),
            statuses: code === undefined ? undefined : statesOf(PAYOUT_STATUS, code as PayPayoutStatus),
            txHash: txHashOf(q.transactionHash),
            ...timeRangeOf(q),
          },
          page,
        );
        return ok(
          presentPage(
            count,
            page.page,
            page.size,
            list.map((a) => presentPayout(ctx.wire, a)),
          ),
        );
      },
    );

    notifyRoute(
      app,
      `${spec.prefix}/notify`,
      `Send the ${spec.noun}'s callback once more (its latest event, under its event id)`,
      { properties: spec.refProps },
      (request, r) => requeuePayoutNotification(ctx.db, kind, request.merchantId, spec.refOf(r)),
    );

    app.post<{ Body: Record<string, any> }>(
      `/${spec.prefix}/approve`,
      {
        schema: {
          summary: `Addition: approve a pending ${spec.noun}: one EIP-712 signature per line from the payout signer (lines[].payoutTypedData of ${spec.prefix}/detail), or none when the gateway holds the payout key`,
          tags,
          operationId: `${spec.prefix}Approve`,
          body: bodyRef(signatureFields),
          response: one,
        },
      },
      async (request) => {
        const ref = spec.refOf(request.body);
        const signatures = approval.signaturesOf(request.body);
        await approval.requireSignatures(request, signatures);
        const app = await approvePayoutApplication(ctx.db, {
          kind,
          merchantId: request.merchantId,
          ref,
          authorize: approval.authorize(signatures, `${spec.prefix}/detail`, spec.noun),
        });
        return ok(presentPayout(ctx.wire, app));
      },
    );

    app.post<{ Body: Record<string, any> }>(
      `/${spec.prefix}/reject`,
      {
        schema: {
          summary: `Addition: reject a pending ${spec.noun}${kind === "refund" ? "; its amount becomes refundable again" : ""}`,
          tags,
          operationId: `${spec.prefix}Reject`,
          body: bodyRef({ reason: { type: "string", maxLength: 256 } }),
          response: one,
        },
      },
      async (request) => {
        const app = await rejectPayoutApplication(ctx.db, {
          kind,
          merchantId: request.merchantId,
          ref: spec.refOf(request.body),
          reason: request.body.reason ?? "rejected by the merchant",
        });
        return ok(presentPayout(ctx.wire, app));
      },
    );
  };
}
