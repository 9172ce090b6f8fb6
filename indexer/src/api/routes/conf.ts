import type { FastifyInstance } from "fastify";
import { QuoteError } from "../../pricing/errors.js";
import { presentChain, presentCurrency } from "../../wire/presenters.js";
import { envelope, errorResponses, qInt, ref } from "../../wire/schemas.js";
import type { GatewayContext } from "../context.js";
import { ok } from "./common.js";

/**
 * A token's USD price from its chain's feeds (the rate a fiat quote would use now), or null when the chain
 * does not price it or its feed refuses right now (stale, zero, off its peg, unreadable): no price is shown
 * that could not price an order.
 */
async function usdRateOf(ctx: GatewayContext, chainId: number, address: string): Promise<string | null> {
  const chain = ctx.chains.find((c) => c.chainId === chainId);
  const token = chain?.tokens.find((t) => t.address.toLowerCase() === address);
  if (!ctx.quoter || !chain?.pricing || !token || !chain.pricing.tokens[token.symbol]) return null;
  try {
    return (await ctx.quoter.rate({ chainId, token: token.address, currency: "USD" })).rate;
  } catch (e) {
    if (e instanceof QuoteError) return null;
    throw e;
  }
}

/** conf/list/chain and conf/list/currency (reference 3.1, 3.2): what the gateway accepts. */
export function confRoutes(ctx: GatewayContext) {
  return async function (app: FastifyInstance) {
    app.get(
      "/conf/list/chain",
      {
        schema: {
          summary:
            "The configured chains. chainId is the EVM chain id (eth_chainId) everywhere in this API, not a platform-internal number",
          tags: ["conf"],
          operationId: "confListChain",
          querystring: { type: "object", additionalProperties: false, properties: {} },
          response: { 200: envelope({ type: "array", items: ref("Chain") }), ...errorResponses },
        },
      },
      async () => ok(ctx.chains.map(presentChain)),
    );

    app.get<{ Querystring: { chainId?: string } }>(
      "/conf/list/currency",
      {
        schema: {
          summary:
            "The accepted currencies (tokens and native coins), each with its stable currencyId and, where the chain has price feeds, its USD price (exchangeRate); chainId filters one chain",
          tags: ["conf"],
          operationId: "confListCurrency",
          querystring: { type: "object", additionalProperties: false, properties: { chainId: qInt("EVM chain id", 15) } },
          response: { 200: envelope({ type: "array", items: ref("Currency") }), ...errorResponses },
        },
      },
      async (request) => {
        const chainId = request.query.chainId === undefined ? undefined : ctx.chain(Number(request.query.chainId)).chainId;
        // the configured tokens only (a token no longer configured keeps its number for old rows but is not accepted)
        const accepted = ctx.wire
          .currencies()
          .filter(
            (c) =>
              (chainId === undefined || c.chainId === chainId) &&
              ctx.chains.some((ch) => ch.chainId === c.chainId && ch.tokens.some((t) => t.address.toLowerCase() === c.address)),
          );
        const rates = await Promise.all(accepted.map((c) => usdRateOf(ctx, c.chainId, c.address)));
        return ok(accepted.map((c, i) => ({ ...presentCurrency(c), exchangeRate: rates[i]! })));
      },
    );
  };
}
