/**
 * Fiat quotes (src/pricing/) against Chainlink-style feeds on a `hardhat node`: MockAggregatorV3 contracts
 * deployed by the test, their prices set by the test. USD quotes in a pegged USDT and in ETH, a CNY quote
 * through a CNY/USD feed, every refused answer (stale, zero, negative, out of band), the per-block cache, the
 * rounding rule (property-tested), the config fragment, and the quote columns of migration 060.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { createPublicClient, custom, getAddress, type Address, type PublicClient } from "viem";
import { resolveConfig } from "../src/config.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { newId } from "../src/domain/ids.js";
import { parseChainPricing, type ChainPricingInput } from "../src/pricing/config.js";
import { QuoteError } from "../src/pricing/errors.js";
import { createFeedReader, type FeedReader } from "../src/pricing/feeds.js";
import { createQuoter, type PricedChain, type Quoter } from "../src/pricing/quoter.js";
import { ceilDiv, exactTokenAmount, feedPrice, formatPrice, tokenAmountFor, withinBand } from "../src/pricing/quoteMath.js";
import { minimumAccepted, paidWithinTolerance } from "../src/pricing/tolerance.js";
import type { Db } from "../src/store/db.js";
import { createMerchant } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";
import { getPaymentQuote, getUnderpaymentTolerance, recordPaymentQuote, setUnderpaymentTolerance } from "../src/store/quotes.js";
import { NotFoundError } from "../src/store/errors.js";
import { artifact, startHardhatNode, type HardhatNode } from "./chainHarness.js";

const ZERO = "0x0000000000000000000000000000000000000000" as Address;
const USDT = "0xdAC17F958D2ee523a2206206994597C13D831ec7" as Address;
const HOUR = 3600;

/** What a refused quote must throw: a QuoteError with this reason whose message names the feed. */
const refused = (reason: string, feed?: Address) => (e: unknown) => {
  assert.ok(e instanceof QuoteError, `expected a QuoteError, got ${e}`);
  assert.equal(e.reason, reason, e.message);
  if (feed) assert.match(e.message, new RegExp(feed, "i"));
  return true;
};

describe("fiat quotes from MockAggregatorV3 feeds on a hardhat node", { timeout: 120_000 }, () => {
  let node: HardhatNode;
  let admin: Address;
  const feeds = {} as Record<"eth" | "usdt" | "cny", Address>;
  const calls: Record<string, number> = {};
  let client: PublicClient;
  let reader: FeedReader;
  let quoter: Quoter;
  let chain: PricedChain;
  const lockedUntil = new Date(Date.now() + 30 * 60_000);

  const send = async (to: Address | null, data: `0x${string}`) => {
    const hash = await node.rpc<string>("eth_sendTransaction", [{ from: admin, ...(to ? { to } : {}), data, gas: "0x2dc6c0" }]);
    const r = await node.rpc<{ status: string; contractAddress: Address | null }>("eth_getTransactionReceipt", [hash]);
    assert.equal(r.status, "0x1");
    return r;
  };
  const { abi, bytecode } = artifact("contracts/mocks/MockAggregatorV3.sol/MockAggregatorV3.json");
  const deployFeed = async (decimals: number, description: string, answer: bigint) => {
    const { encodeDeployData } = await import("viem");
    const r = await send(null, encodeDeployData({ abi, bytecode, args: [decimals, description, answer] }));
    return getAddress(r.contractAddress!);
  };
  const setAnswer = async (feed: Address, answer: bigint) => {
    const { encodeFunctionData } = await import("viem");
    await send(feed, encodeFunctionData({ abi, functionName: "setAnswer", args: [answer] }));
  };
  const setRound = async (feed: Address, roundId: bigint, answer: bigint, updatedAt: bigint) => {
    const { encodeFunctionData } = await import("viem");
    await send(feed, encodeFunctionData({ abi, functionName: "setRound", args: [roundId, answer, updatedAt] }));
  };
  const chainNow = async () => BigInt((await node.rpc<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false])).timestamp);

  before(async () => {
    node = await startHardhatNode();
    [admin] = await node.rpc<Address[]>("eth_accounts");
    feeds.eth = await deployFeed(8, "ETH / USD", 3000_12345678n);
    feeds.usdt = await deployFeed(8, "USDT / USD", 1_00020000n);
    feeds.cny = await deployFeed(8, "CNY / USD", 13812345n);
    // every RPC call counted by method, so the cache can be checked from the wire
    client = createPublicClient({
      cacheTime: 0,
      transport: custom({
        request: async ({ method, params }) => {
          const key = method === "eth_call" ? `eth_call:${(params as [{ to: string }])[0].to.toLowerCase()}` : method;
          calls[key] = (calls[key] ?? 0) + 1;
          return node.rpc(method, params as unknown[]);
        },
      }),
    }) as PublicClient;
    reader = createFeedReader({ client, blockCacheMs: 0 });
    const pricing: ChainPricingInput = {
      tokens: {
        ETH: { feed: { address: feeds.eth, heartbeatSeconds: HOUR } },
        USDT: { peg: "USD", bandBps: 100, feed: { address: feeds.usdt, heartbeatSeconds: 24 * HOUR } },
      },
      fiat: { CNY: { feed: { address: feeds.cny, heartbeatSeconds: 24 * HOUR } } },
    };
    const tokens = [
      { symbol: "ETH", address: ZERO, decimals: 18 },
      { symbol: "USDT", address: USDT, decimals: 6 },
    ];
    chain = { chainId: 31337, tokens, pricing: parseChainPricing(pricing, { chainId: 31337, tokens }) };
    quoter = createQuoter({ chains: [chain], readerFor: () => reader });
  });
  after(() => node?.stop());

  it("prices USD in a pegged USDT at face value, the USDT/USD feed checked within its band", async () => {
    const q = await quoter.quote({ chainId: 31337, token: "USDT", currency: "USD", amount: "10.50", lockedUntil });
    assert.equal(q.amount, 10_500_000n);
    assert.equal(q.rate, "1");
    assert.equal(q.pegged, "USD");
    assert.equal(q.fiatAmount, 1050n);
    assert.equal(q.fiatDecimals, 2);
    assert.equal(q.lockedUntil, lockedUntil);
    assert.deepEqual(
      q.sources.map((s) => [s.pair, s.feed, s.answer, s.decimals]),
      [["USDT/USD", feeds.usdt, "100020000", 8]],
    );
    assert.equal(q.sources[0]!.roundId, "1");
    // by address too, and a currency code is matched exactly
    assert.equal(
      (await quoter.quote({ chainId: 31337, token: USDT.toLowerCase(), currency: "USD", amount: "1", lockedUntil })).amount,
      1_000_000n,
    );
  });

  it("prices USD in ETH from the ETH/USD feed, rounded up to the next wei", async () => {
    const q = await quoter.quote({ chainId: 31337, token: "ETH", currency: "USD", amount: "100", lockedUntil });
    // 100 USD / 3000.12345678 USD per ETH, in wei, rounded up
    const exactNum = 100n * 10n ** 18n * 10n ** 8n;
    const exactDen = 3000_12345678n;
    assert.equal(q.amount, exactNum / exactDen + 1n);
    assert.ok(q.amount * exactDen >= exactNum && (q.amount - 1n) * exactDen < exactNum);
    assert.equal(q.rate, "3000.12345678");
    assert.equal(q.pegged, null);
    assert.deepEqual(
      q.sources.map((s) => s.pair),
      ["ETH/USD"],
    );
    assert.equal(q.sources[0]!.feed, feeds.eth);
    assert.ok(Number(q.sources[0]!.blockNumber) > 0);
  });

  it("prices CNY through the CNY/USD feed, in USDT and in ETH", async () => {
    const inUsdt = await quoter.quote({ chainId: 31337, token: "USDT", currency: "CNY", amount: "100.00", lockedUntil });
    // 100 CNY * 0.13812345 USD/CNY = 13.812345 USD = 13.812345 USDT
    assert.equal(inUsdt.amount, 13_812_345n);
    assert.equal(inUsdt.currency, "CNY");
    assert.equal(inUsdt.fiatAmount, 10_000n);
    // one USDT is worth 1 / 0.13812345 CNY
    assert.equal(inUsdt.rate, formatPrice({ num: 10n ** 8n, den: 13812345n }));
    assert.match(inUsdt.rate, /^7\.2399002486543740\d*$/);
    assert.deepEqual(
      inUsdt.sources.map((s) => s.pair),
      ["CNY/USD", "USDT/USD"],
    );

    const inEth = await quoter.quote({ chainId: 31337, token: "ETH", currency: "CNY", amount: "100", lockedUntil });
    const num = 10_000n * 13812345n * 10n ** 8n * 10n ** 18n;
    const den = 100n * 10n ** 8n * 3000_12345678n;
    assert.equal(inEth.amount, ceilDiv(num, den));
    assert.deepEqual(
      inEth.sources.map((s) => s.pair),
      ["CNY/USD", "ETH/USD"],
    );
    assert.deepEqual(quoter.currencies(31337), ["USD", "CNY"]);
  });

  it("refuses a stale, a zero, a negative and an out-of-band answer, naming the feed", async () => {
    const usd = (token: string) => quoter.quote({ chainId: 31337, token, currency: "USD", amount: "25", lockedUntil });
    const now = await chainNow();
    // stale: last updated two hours ago, heartbeat one hour
    await setRound(feeds.eth, 7n, 3100_00000000n, now - 2n * BigInt(HOUR));
    await assert.rejects(usd("ETH"), refused("stale", feeds.eth));
    await assert.rejects(quoter.rate({ chainId: 31337, token: "ETH", currency: "USD" }), refused("stale"));
    // an incomplete round (updatedAt 0) is stale too
    await setRound(feeds.eth, 8n, 3100_00000000n, 0n);
    await assert.rejects(usd("ETH"), refused("stale", feeds.eth));
    await setAnswer(feeds.eth, 0n);
    await assert.rejects(usd("ETH"), refused("zero", feeds.eth));
    await setAnswer(feeds.eth, -5n);
    await assert.rejects(usd("ETH"), refused("negative", feeds.eth));
    // the refusal is about the answer, not the feed: a good round prices again, and its round id is reported
    await setAnswer(feeds.eth, 2500_00000000n);
    const back = await usd("ETH");
    assert.equal(back.amount, 10n ** 16n); // 25 / 2500 = 0.01 ETH
    assert.equal(back.sources[0]!.roundId, "11");

    // USDT off its peg by more than the 1% band, either way
    await setAnswer(feeds.usdt, 98_900000n);
    await assert.rejects(usd("USDT"), refused("out_of_band", feeds.usdt));
    await setAnswer(feeds.usdt, 1_01100000n);
    await assert.rejects(usd("USDT"), refused("out_of_band", feeds.usdt));
    // a stale CNY/USD feed refuses every CNY quote, whatever the coin
    await setAnswer(feeds.usdt, 99_000000n); // exactly 1% off: inside the band
    assert.equal((await usd("USDT")).amount, 25_000_000n);
    await setRound(feeds.cny, 3n, 13812345n, now - 2n * 24n * BigInt(HOUR));
    await assert.rejects(
      quoter.quote({ chainId: 31337, token: "USDT", currency: "CNY", amount: "5", lockedUntil }),
      refused("stale", feeds.cny),
    );
    await setAnswer(feeds.cny, 13812345n);
  });

  it("refuses what it cannot price: unknown currency, unpriced chain or token, bad amounts", async () => {
    const q = (over: Partial<Parameters<Quoter["quote"]>[0]>) =>
      quoter.quote({ chainId: 31337, token: "USDT", currency: "USD", amount: "1", lockedUntil, ...over });
    await assert.rejects(
      q({ currency: "EUR" }),
      (e: unknown) => refused("unpriced")(e) && /use one of: USD, CNY/.test((e as Error).message),
    );
    await assert.rejects(q({ chainId: 1 }), refused("unpriced"));
    await assert.rejects(q({ token: "DAI" }), refused("unpriced"));
    for (const amount of ["0", "0.00", "-1", "1.234", "1e3", "abc", ""])
      await assert.rejects(q({ amount }), refused("invalid_amount"), amount);
    const unpriced = createQuoter({ chains: [{ chainId: 5, tokens: chain.tokens }], readerFor: () => reader });
    assert.deepEqual(unpriced.currencies(5), []);
    await assert.rejects(unpriced.quote({ chainId: 5, token: "ETH", currency: "USD", amount: "1", lockedUntil }), refused("unpriced"));
  });

  it("reads each feed at most once per block, however many quotes ask at once", async () => {
    await node.rpc("evm_setAutomine", [false]);
    try {
      const before = { ...calls };
      const readsBefore = reader.reads;
      const burst = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          quoter.quote({ chainId: 31337, token: i % 2 ? "ETH" : "USDT", currency: i % 3 ? "USD" : "CNY", amount: `${i + 1}`, lockedUntil }),
        ),
      );
      assert.equal(burst.length, 200);
      const delta = (k: string) => (calls[k] ?? 0) - (before[k] ?? 0);
      // three feeds, one read each (latestRoundData + decimals)
      assert.equal(reader.reads - readsBefore, 3);
      for (const f of Object.values(feeds)) assert.equal(delta(`eth_call:${f.toLowerCase()}`), 2, f);
      // all 200 used the same rounds
      assert.equal(new Set(burst.flatMap((q) => q.sources.map((s) => `${s.feed}:${s.blockNumber}`))).size, 3);

      // a new block: read again, once
      await node.rpc("evm_mine");
      await Promise.all(
        Array.from({ length: 50 }, () => quoter.quote({ chainId: 31337, token: "ETH", currency: "USD", amount: "3", lockedUntil })),
      );
      assert.equal(reader.reads - readsBefore, 4);
      assert.equal(delta(`eth_call:${feeds.eth.toLowerCase()}`), 4);
    } finally {
      await node.rpc("evm_setAutomine", [true]);
    }
  });

  it("does not keep a failed read: the next quote reads again", async () => {
    let fail = true;
    const flaky = createPublicClient({
      cacheTime: 0,
      transport: custom({
        request: async ({ method, params }) => {
          if (fail && method === "eth_call") throw new Error("connection reset");
          return node.rpc(method, params as unknown[]);
        },
      }),
    }) as PublicClient;
    const r = createFeedReader({ client: flaky, blockCacheMs: 0 });
    await assert.rejects(r.latest(feeds.eth), (e: unknown) => refused("rpc", feeds.eth)(e) && (e as QuoteError).retryable);
    fail = false;
    const round = await r.latest(feeds.eth);
    assert.equal(round.decimals, 8);
    assert.equal(r.reads, 2);
  });
});

describe("quote math: one rounding rule, exact", () => {
  const price = fc.record({ answer: fc.bigInt({ min: 1n, max: 10n ** 30n }), decimals: fc.integer({ min: 0, max: 18 }) });

  it("the amount is the exact value rounded up: never below it, less than one base unit above", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        fc.integer({ min: 0, max: 6 }),
        price,
        price,
        fc.integer({ min: 0, max: 24 }),
        (fiatAmount, fiatDecimals, fiat, token, tokenDecimals) => {
          const p = {
            fiatAmount,
            fiatDecimals,
            fiatUsd: feedPrice(fiat.answer, fiat.decimals),
            tokenUsd: feedPrice(token.answer, token.decimals),
            tokenDecimals,
          };
          const amount = tokenAmountFor(p);
          const exact = exactTokenAmount(p);
          // the merchant never gets less than the exact value …
          assert.ok(amount * exact.den >= exact.num);
          // … and the payer pays less than one base unit more
          assert.ok(amount === 0n || (amount - 1n) * exact.den < exact.num);
          // a positive fiat amount never quotes zero
          if (fiatAmount > 0n) assert.ok(amount >= 1n);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("formats rates half up and checks bands exactly", () => {
    assert.equal(formatPrice({ num: 1n, den: 3n }, 4), "0.3333");
    assert.equal(formatPrice({ num: 2n, den: 3n }, 4), "0.6667");
    assert.equal(formatPrice({ num: 5n, den: 2n }, 0), "3");
    assert.equal(formatPrice({ num: 300012345678n, den: 10n ** 8n }), "3000.12345678");
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 24n }), fc.bigInt({ min: 1n, max: 10n ** 24n }), (num, den) => {
        const s = formatPrice({ num, den }, 6);
        const [w, f = ""] = s.split(".");
        const shown = BigInt(w! + f.padEnd(6, "0"));
        // |shown/10^6 - num/den| <= 1/2 · 10^-6
        const diff = shown * den - num * 10n ** 6n;
        assert.ok(2n * (diff < 0n ? -diff : diff) <= den, `${num}/${den} -> ${s}`);
      }),
    );
    const one = feedPrice(1_00000000n, 8);
    assert.equal(withinBand(feedPrice(1_01000000n, 8), one, 100), true);
    assert.equal(withinBand(feedPrice(1_01000001n, 8), one, 100), false);
    assert.equal(withinBand(feedPrice(98_999999n, 8), one, 100), false);
    assert.equal(withinBand(feedPrice(99_000000n, 8), one, 100), true);
  });

  it("underpayment tolerance: never more than the basis points allow, rounded in the merchant's favour", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 30n }), fc.integer({ min: 0, max: 1000 }), (amount, bps) => {
        const min = minimumAccepted(amount, bps);
        assert.ok(min <= amount && min > 0n);
        // amount - min is the largest allowance with allowance · 10000 <= amount · bps
        assert.ok((amount - min) * 10_000n <= amount * BigInt(bps));
        assert.ok((amount - min + 1n) * 10_000n > amount * BigInt(bps));
        assert.equal(paidWithinTolerance(amount, min, bps), true);
        assert.equal(paidWithinTolerance(amount, min - 1n, bps), false);
      }),
    );
    assert.equal(minimumAccepted(10_000_000n, 0), 10_000_000n);
    assert.equal(minimumAccepted(10_000_000n, 50), 9_950_000n);
    assert.throws(() => minimumAccepted(1n, 1001), RangeError);
  });
});

describe("pricing config fragment", () => {
  const tokens = [
    { symbol: "ETH", address: ZERO, decimals: 18 },
    { symbol: "USDT", address: USDT, decimals: 6 },
  ];
  const feed = { address: "0x5f4ec3df9cbd43714fe2740f5e3616155c5b8419", heartbeatSeconds: 3600 };

  it("parses a chain's feeds with defaults and checksummed addresses", () => {
    const p = parseChainPricing({ tokens: { ETH: { feed }, USDT: { peg: "USD" } } }, { chainId: 1, tokens });
    assert.equal(p.tokens.ETH?.feed?.address, "0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419");
    assert.deepEqual(p.tokens.USDT, { peg: "USD" });
    assert.deepEqual(p.fiat, {});
  });

  it("says what to fix", () => {
    const bad = (raw: unknown, re: RegExp) => assert.throws(() => parseChainPricing(raw, { chainId: 1, tokens }), re);
    bad({ tokens: { DAI: { feed } } }, /tokens\.DAI: no token "DAI" on this chain/);
    bad({ tokens: { USDT: { peg: "EUR" } } }, /tokens\.USDT\.peg: EUR needs a fiat\.EUR feed/);
    bad({ tokens: { ETH: { feed: { ...feed, address: "0x12" } } } }, /chains\[1\]\.pricing\.tokens\.ETH\.feed\.address: a 0x address/);
    bad({ tokens: { ETH: { feed: { ...feed, heartbeatSeconds: 0 } } } }, /heartbeatSeconds/);
    bad({ tokens: {}, fiat: { cny: { feed } } }, /ISO 4217/);
    bad({ tokens: {}, fiat: { XAU: { feed } } }, /fiat\.XAU: unknown currency/);
    bad({ tokens: {}, fiat: { USD: { feed } } }, /fiat\.USD: USD is the feeds' own unit/);
    bad({ tokens: { ETH: { feed, extra: 1 } } }, /pricing\.tokens\.ETH: Unrecognized key/);
    bad({ tokens: { ETH: {} } }, /pricing\.tokens\.ETH: give "feed" .* or "peg"/);
    bad({ tokens: { ETH: { feed, bandBps: 50 } } }, /tokens\.ETH\.bandBps: a band only applies to a "peg"/);
  });

  it("is read through the gateway config, with the chain's explorer URL", () => {
    const base = {
      chainId: 1,
      code: "eth",
      name: "Ethereum",
      vault: "0x00000000000000000000000000000000000000A1" as Address,
      confirmations: 12,
      tokens,
      rpcUrl: "https://rpc.example/v1/KEY",
    };
    const config = resolveConfig({
      masterKey: randomBytes(32),
      chains: [{ ...base, explorerUrl: "https://etherscan.io/", pricing: { tokens: { ETH: { feed } } } as never }],
    });
    assert.equal(config.chains[0]!.explorerUrl, "https://etherscan.io");
    assert.equal(config.chains[0]!.pricing?.tokens.ETH?.feed?.heartbeatSeconds, 3600);
    assert.throws(
      () => resolveConfig({ masterKey: randomBytes(32), chains: [{ ...base, explorerUrl: "javascript:alert(1)" }] }),
      /explorerUrl/,
    );
    assert.throws(
      () => resolveConfig({ masterKey: randomBytes(32), chains: [{ ...base, pricing: { tokens: { BTC: { feed } } } as never }] }),
      /tokens\.BTC: no token "BTC"/,
    );
    // the feeds are read over the chain's RPC: pricing without one is refused at start, not at the first order
    assert.throws(
      () =>
        resolveConfig({
          masterKey: randomBytes(32),
          chains: [{ ...base, rpcUrl: undefined, pricing: { tokens: { ETH: { feed } } } as never }],
        }),
      /pricing: price feeds are read over the chain's RPC: give "rpcUrl"/,
    );
  });
});

describe("quote columns of payment orders (migration 060, store/quotes.ts)", () => {
  let db: Db;
  const merchantId = 7n;
  const insertOrder = async (status = 0) => {
    const id = newId();
    await db.query(
      `INSERT INTO payment_orders (id, merchant_id, merchant_order_id, request_hash, chain_id, token_address, token_symbol, token_decimals,
         amount, status, notify_url, access_sign, expires_at)
       VALUES ($1, $2, $3, 'h', 31337, $4, 'USDT', 6, 13812345, $5, 'https://shop.example.test/n', 'sig', now() + interval '30 minutes')`,
      [id, merchantId.toString(), `quote-${id}`, USDT.toLowerCase(), status],
    );
    return id;
  };
  const quote = {
    currency: "CNY",
    fiatAmount: 10_000n,
    fiatDecimals: 2,
    rate: "7.239929435859883826",
    sources: [
      {
        pair: "CNY/USD",
        feed: USDT,
        roundId: "18446744073709551617",
        answer: "13812345",
        decimals: 8,
        updatedAt: 1_700_000_000,
        blockNumber: "12",
      },
    ],
    quotedAt: new Date("2025-01-01T00:00:00.000Z"),
    lockedUntil: new Date("2025-01-01T00:30:00.000Z"),
  };

  before(async () => {
    db = await openStore({ pgliteDir: "memory://" });
    await createMerchant(db, createSecretBox(randomBytes(32)), { name: "Quote shop", id: merchantId });
  });
  after(async () => {
    await db?.close();
  });

  it("records a quote on an open order and reads it back exactly", async () => {
    const id = await insertOrder();
    assert.equal(await getPaymentQuote(db, id), null);
    assert.equal(await recordPaymentQuote(db, { merchantId, payOrderId: id, quote }), true);
    assert.deepEqual(await getPaymentQuote(db, id), quote);
    // a re-quote replaces it
    const again = { ...quote, rate: "7.5", fiatAmount: 10_001n };
    assert.equal(await recordPaymentQuote(db, { merchantId, payOrderId: id, quote: again }), true);
    assert.deepEqual(await getPaymentQuote(db, id), again);
  });

  it("leaves a closed order's quote alone and reports an unknown order", async () => {
    const paid = await insertOrder(4);
    assert.equal(await recordPaymentQuote(db, { merchantId, payOrderId: paid, quote }), false);
    assert.equal(await getPaymentQuote(db, paid), null);
    await assert.rejects(recordPaymentQuote(db, { merchantId: 99n, payOrderId: paid, quote }), NotFoundError);
  });

  it("refuses half a quote and an out-of-range tolerance", async () => {
    const id = await insertOrder();
    await assert.rejects(db.query("UPDATE payment_orders SET quote_currency = 'USD' WHERE id = $1", [id]), /payment_orders_quote_whole/);
    assert.equal(await getUnderpaymentTolerance(db, merchantId), 0);
    assert.equal(await setUnderpaymentTolerance(db, merchantId, 50), true);
    assert.equal(await getUnderpaymentTolerance(db, merchantId), 50);
    assert.equal(await setUnderpaymentTolerance(db, 12345n, 50), false);
    await assert.rejects(setUnderpaymentTolerance(db, merchantId, 1001), RangeError);
    await assert.rejects(
      db.query("UPDATE merchants SET underpayment_tolerance_bps = 1001 WHERE id = $1", [merchantId.toString()]),
      /check/i,
    );
  });
});
