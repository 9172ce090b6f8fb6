import type { FastifyInstance, FastifyRequest, RouteShorthandOptions } from "fastify";
import { getAddress, isAddress } from "viem";
import type { Queryable } from "../../store/db.js";
import type { Page } from "../../store/paymentOrders.js";
import { payoutRecipientConflict } from "../../store/recipients.js";
import { ApiError, ErrorCode } from "../../wire/errors.js";
import { emptyEnvelope, errorResponses } from "../../wire/schemas.js";
import type { ChainRuntime, GatewayContext } from "../context.js";

/** The success envelope (reference 2.1): `code` the integer 200, `msg` "success". */
export const ok = <T>(data: T) => ({ code: 200, msg: "success", data });

const invalid = (msg: string) => new ApiError(ErrorCode.InvalidRequest, `Invalid request: ${msg}`);

/** An integer sent as a JSON integer or a numeric string (chainId, currencyId, ids); the schema checked the form. */
export function intOf(value: unknown, field: string): number {
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw invalid(`${field} must be a positive integer (a number or a numeric string)`);
  return n;
}

/** A query string's page and size (reference 3.5: page from 1, size at most 500, default 10). */
export function pageOf(q: { page?: string; size?: string }): Page {
  const page = q.page === undefined ? 1 : Number(q.page);
  const size = q.size === undefined ? 10 : Number(q.size);
  if (page < 1 || page > 1_000_000) throw invalid("page must be 1 .. 1000000");
  if (size < 1 || size > 500) throw invalid("size must be 1 .. 500");
  return { page, size };
}

/** A list query's creation-time range (unix seconds, both inclusive). */
export function timeRangeOf(q: { startTime?: string; endTime?: string }): { createdFrom?: Date; createdTo?: Date } {
  const from = q.startTime === undefined ? undefined : new Date(Number(q.startTime) * 1000);
  const to = q.endTime === undefined ? undefined : new Date(Number(q.endTime) * 1000 + 999);
  if (from && to && to < from) throw invalid("endTime must not be before startTime");
  return { createdFrom: from, createdTo: to };
}

/** A list query's status (orderStatus, or status), checked against the codes the list knows. */
export function statusCodeOf(q: { orderStatus?: string; status?: string }, codes: readonly number[], text: string): number | undefined {
  if (q.orderStatus !== undefined && q.status !== undefined && q.orderStatus !== q.status)
    throw invalid("orderStatus and status differ: send one");
  const v = q.orderStatus ?? q.status;
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!codes.includes(n)) throw invalid(`orderStatus ${v} is not one of ${text}`);
  return n;
}

/** A transaction hash filter as stored (lowercase 0x hex). */
export const txHashOf = (h: string | undefined) => (h === undefined ? undefined : (h.startsWith("0x") ? h : `0x${h}`).toLowerCase());

/**
 * An address a merchant sends: 0x and 40 hex digits; mixed case must be a valid EIP-55 checksum. Returned
 * lowercase, as the store keeps addresses.
 */
export function addressOf(value: string, field: string): string {
  const a = value.trim();
  if (!/^0x[0-9a-fA-F]{40}$/.test(a)) throw invalid(`${field} "${a}" is not an address (0x and 40 hex digits)`);
  if (!isAddress(a, { strict: true }))
    throw invalid(`${field} "${a}" has a wrong EIP-55 checksum (mixed case): send it lowercase or correctly checksummed`);
  return a.toLowerCase();
}

/** Refuses a payout recipient the vault should never pay (store/recipients.ts says which and why) with 40011. */
export async function checkRecipient(ctx: GatewayContext, to: string, field: string, db: Queryable = ctx.db): Promise<void> {
  const why = await payoutRecipientConflict(db, ctx.chains, to);
  if (why)
    throw new ApiError(
      ErrorCode.RecipientRefused,
      `${field} ${getAddress(to.toLowerCase())} is ${why}: payouts go to an address outside this gateway`,
    );
}

/** A chain from a request's chainId (integer or numeric string). */
export const chainOf = (ctx: GatewayContext, value: unknown, field = "chainId"): ChainRuntime => ctx.chain(intOf(value, field));

/** The merchant's own key fields: trimmed; empty means absent. */
export const keyOrNull = (v: string | undefined) => (v === undefined || v.trim() === "" ? null : v.trim());

/**
 * Registers a notify route (one more callback of an object, reference 3.8/3.12) as GET with a query string,
 * as Pay Protocol has it, and as POST with a JSON body (the reference leaves the method of recharge/notify
 * and withdraw/notify open). Answers `{"code":200,"msg":"success"}` without data.
 */
export function notifyRoute<Q extends Record<string, string | number | undefined>>(
  app: FastifyInstance,
  path: string,
  summary: string,
  params: { properties: Record<string, unknown>; required?: string[]; anyOf?: unknown[] },
  handler: (request: FastifyRequest, ref: Q) => Promise<unknown>,
) {
  const object = { type: "object", additionalProperties: false, ...params };
  const body = { ...object, properties: bodyProps(params.properties) };
  const response = { 200: emptyEnvelope, ...errorResponses };
  const tag = path.split("/")[0]!;
  const get: RouteShorthandOptions = {
    schema: { summary, tags: [tag], operationId: operationIdOf("GET", path), querystring: object, response },
  };
  const post: RouteShorthandOptions = {
    schema: { summary: `${summary} (POST form)`, tags: [tag], operationId: operationIdOf("POST", path), body, response },
  };
  app.get(`/${path}`, get, async (request) => {
    await handler(request, request.query as Q);
    return { code: 200, msg: "success" };
  });
  app.post(`/${path}`, post, async (request) => {
    await handler(request, request.body as Q);
    return { code: 200, msg: "success" };
  });
}

/** Query-string properties as body properties: an integer in a query is a digit string, in JSON a number or a numeric string. */
export function bodyProps(props: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(props).map(([k, v]) => {
      const p = v as { type?: string; pattern?: string };
      return [k, p.type === "string" && p.pattern?.startsWith("^[1-9][0-9]{0,") ? { ...p, type: ["integer", "string"], minimum: 1 } : v];
    }),
  );
}

/** `payment/payInfo/update` as `paymentPayInfoUpdate`; the POST form of a GET route gets a `Post` suffix. */
export function operationIdOf(method: "GET" | "POST", path: string, postAlsoGet = true): string {
  const id = path
    .split("/")
    .map((p, i) => (i === 0 ? p : p.charAt(0).toUpperCase() + p.slice(1)))
    .join("");
  return method === "POST" && postAlsoGet && /\/notify$/.test(path) ? `${id}Post` : id;
}
