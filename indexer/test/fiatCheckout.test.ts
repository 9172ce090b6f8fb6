/**
 * Fiat-priced checkout over HTTP (issue 14): `payment/createPaymentOrder` with `isLegalTender: 1` against a
 * hardhat node with MockAggregatorV3 feeds deployed and priced by the test. A USD order in the pegged USDT
 * (the default coin) and in ETH (by currencyId), a CNY order through the CNY/USD feed, stale and zero feeds
 * refused with nothing written, the locked amount kept after the feed moves, payment/detail's quote fields,
 * conf/list/currency's exchangeRate, and a chain without pricing still answering 40012.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { encodeDeployData, encodeFunctionData, getAddress, type Address } from "viem";
import { resolveConfig } from "../src/config.js";
import { checkPriceFeeds, doctorClient } from "../src/doctor/checks.js";
import { depositInitCodeHash } from "../src/domain/depositAddress.js";
import { newId } from "../src/domain/ids.js";
import { DatabaseError } from "../src/store/db.js";
import { createPaymentOrder } from "../src/store/paymentOrders.js";
import { artifact, startFaultProxy, startHardhatNode, type FaultProxy, type HardhatNode } from "./chainHarness.js";
import { call, startGateway, tableCounts, USDT, VAULT, type TestGateway } from "./helpers.js";

const HOUR = 3600;
const ETH_USD = 3000_12345678n; // 8 decimals
const CNY_USD = 13812345n; // 0.13812345 USD per CNY

describe("fiat checkout over HTTP with MockAggregatorV3 feeds on a hardhat node", { timeout: 180_000 }, () => {
  let node: HardhatNode;
  let admin: Address;
  let gw: TestGateway;
  /** the gateway's RPC goes through it (no faults): it counts the JSON-RPC requests the feeds cost */
  let rpc: FaultProxy;
  const feeds = {} as Record<"eth" | "usdt" | "cny", Address>;
  const currencyIds = {} as Record<"ETH" | "USDT" | "POL", number>;
  const { abi, bytecode } = artifact("contracts/mocks/MockAggregatorV3.sol/MockAggregatorV3.json");

  const send = async (to: Address | null, data: `0x${string}`) => {
    const hash = await node.rpc<string>("eth_sendTransaction", [{ from: admin, ...(to ? { to } : {}), data, gas: "0x2dc6c0" }]);
    const r = await node.rpc<{ status: string; contractAddress: Address | null }>("eth_getTransactionReceipt", [hash]);
    assert.equal(r.status, "0x1");
    return r;
  };
  const deployFeed = async (decimals: number, description: string, answer: bigint) =>
    getAddress((await send(null, encodeDeployData({ abi, bytecode, args: [decimals, description, answer] }))).contractAddress!);
  // the quoter takes the head as current for 1 s (feeds.ts): a changed feed is seen from the next block after that
  const settle = () => new Promise((r) => setTimeout(r, 1_100));
  const setAnswer = async (feed: Address, answer: bigint) => {
    await send(feed, encodeFunctionData({ abi, functionName: "setAnswer", args: [answer] }));
    await settle();
  };
  const setRound = async (feed: Address, roundId: bigint, answer: bigint, updatedAt: bigint) => {
    await send(feed, encodeFunctionData({ abi, functionName: "setRound", args: [roundId, answer, updatedAt] }));
    await settle();
  };
  const chainNow = async () => BigInt((await node.rpc<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false])).timestamp);

  const merchant = () => gw.merchants[0]!;
  const create = (body: Record<string, unknown>) =>
    call(gw, merchant(), "POST", "payment/createPaymentOrder", {
      chainId: 31337,
      outTradeNo: `fiat-${randomBytes(6).toString("hex")}`,
      isLegalTender: 1,
      quoteCurrencySymbol: "USD",
      quoteAmount: "12.50",
      notifyUrl: "https://shop.example.com/notify",
      ...body,
    });
  const detail = (outTradeNo: string) => call(gw, merchant(), "GET", "payment/detail", { outTradeNo });
  /** ⌈usd · 10^18 · 10^8 / ethUsd⌉ in wei: the rounding rule (never less than the fiat value). */
  const weiFor = (usdCents: bigint, ethUsd: bigint) => {
    const num = usdCents * 10n ** 18n * 10n ** 8n;
    const den = 100n * ethUsd;
    return (num + den - 1n) / den;
  };

  before(async () => {
    node = await startHardhatNode();
    [admin] = await node.rpc<Address[]>("eth_accounts");
    feeds.eth = await deployFeed(8, "ETH / USD", ETH_USD);
    feeds.usdt = await deployFeed(8, "USDT / USD", 1_00020000n);
    feeds.cny = await deployFeed(8, "CNY / USD", CNY_USD);
    rpc = await startFaultProxy(node.url, {});
    const resolved = resolveConfig({
      masterKey: randomBytes(32),
      payPageUrl: "https://pay.example.test/pay",
      chains: [
        {
          chainId: 31337,
          code: "local",
          name: "Hardhat",
          vault: VAULT,
          confirmations: 1,
          rpcUrl: rpc.url,
          tokens: [
            { symbol: "ETH", address: "0x0000000000000000000000000000000000000000", decimals: 18 },
            { symbol: "USDT", address: USDT, decimals: 6 },
          ],
          pricing: {
            tokens: {
              ETH: { feed: { address: feeds.eth, heartbeatSeconds: HOUR } },
              USDT: { peg: "USD", bandBps: 100, feed: { address: feeds.usdt, heartbeatSeconds: 24 * HOUR } },
            },
            fiat: { CNY: { feed: { address: feeds.cny, heartbeatSeconds: 24 * HOUR } } },
          },
        },
        {
          chainId: 137,
          code: "polygon",
          name: "Polygon",
          vault: VAULT,
          confirmations: 3,
          tokens: [{ symbol: "POL", address: "0x0000000000000000000000000000000000000000", decimals: 18 }],
        },
      ],
    });
    gw = await startGateway("pglite", { chains: resolved.chains });
    const list = await call(gw, merchant(), "GET", "conf/list/currency");
    for (const c of list.body.data as { currencyId: number; symbol: "ETH" | "USDT" | "POL" }[]) currencyIds[c.symbol] = c.currencyId;
  });
  after(async () => {
    await gw?.close();
    await rpc?.close();
    node?.stop();
  });

  it("prices a USD order in the chain's first priced stablecoin (USDT, pegged) by default and shows the quote in payment/detail", async () => {
    const r = await create({ quoteAmount: "12.50" });
    assert.equal(r.body.code, 200, r.body.msg);
    const o = r.body.data;
    assert.equal(o.symbol, "USDT");
    assert.equal(o.currencyId, currencyIds.USDT);
    assert.equal(o.expectedAmount, "12500000");
    assert.equal(o.exchangeRate, "1");
    assert.equal(o.rateLockedUntil, o.expireTime);

    const d = (await detail(o.outTradeNo)).body.data;
    assert.equal(d.isLegalTender, 1);
    assert.equal(d.quoteCurrencySymbol, "USD");
    assert.equal(d.quoteAmount, "12.50");
    assert.equal(d.expectedAmount, "12500000");
    assert.equal(d.exchangeRate, "1");
    assert.equal(d.rateLockedUntil, d.expireTime);
    assert.match(d.quotedTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assert.deepEqual(
      d.rateSources.map((s: { pair: string; feed: string; answer: string; decimals: number }) => [s.pair, s.feed, s.answer, s.decimals]),
      [["USDT/USD", feeds.usdt, "100020000", 8]],
    );
    // the quote columns of migration 060, in integers
    const [row] = await gw.db.query(
      "SELECT quote_currency, fiat_amount::text, quote_decimals, is_legal_tender FROM payment_orders WHERE id = $1",
      [o.outPaymentNo],
    );
    assert.deepEqual({ ...row }, { quote_currency: "USD", fiat_amount: "1250", quote_decimals: 2, is_legal_tender: 1 });
  });

  it("the payment page shows the fiat price, the locked rate, until when and its source, in English and Chinese", async () => {
    const o = (await create({ quoteCurrencySymbol: "CNY", quoteAmount: "100.00", currencyId: currencyIds.ETH })).body.data;
    const page = async (lang: string) => (await fetch(`${gw.url}${o.paymentUrl}`, { headers: { "accept-language": lang } })).text();
    const en = await page("en");
    const time = o.rateLockedUntil as string;
    assert.match(en, /<dt>Price<\/dt><dd id="fiat-price">100\.00 CNY<\/dd>/);
    // CNY per ETH: 3000.12345678 / 0.13812345, shown to 8 decimals
    assert.match(en, /<dd id="fiat-rate">1 ETH = 21720\.59456073 CNY<\/dd>/);
    assert.match(
      en,
      new RegExp(`<dd id="fiat-locked"><time datetime="${time.replace(" ", "T")}\\.\\d{3}Z">${time} UTC</time></dd>`),
      "locked until the expiry",
    );
    assert.match(en, /<dd id="fiat-source">on-chain price feed CNY\/USD, ETH\/USD<\/dd>/);
    const zh = await page("zh-CN");
    assert.match(zh, /<dt>价格<\/dt><dd id="fiat-price">100\.00 CNY<\/dd>/);
    assert.match(zh, /<dt>汇率锁定至<\/dt>/);
    assert.match(zh, /链上价格源 CNY\/USD, ETH\/USD/);
    // a crypto-priced order shows none of it
    const crypto = (
      await call(gw, merchant(), "POST", "payment/createPaymentOrder", {
        chainId: 31337,
        outTradeNo: `crypto-${randomBytes(4).toString("hex")}`,
        quoteCurrencySymbol: "USDT",
        quoteAmount: "5",
        notifyUrl: "https://shop.example.com/notify",
      })
    ).body.data;
    assert.ok(!(await (await fetch(`${gw.url}${crypto.paymentUrl}`)).text()).includes("fiat-price"));
  });

  it("prices a USD order in ETH (currencyId) from the ETH/USD feed, rounded up to the next wei", async () => {
    const r = await create({ quoteAmount: "100", currencyId: currencyIds.ETH });
    assert.equal(r.body.code, 200, r.body.msg);
    assert.equal(r.body.data.symbol, "ETH");
    assert.equal(r.body.data.expectedAmount, weiFor(100_00n, ETH_USD).toString());
    assert.equal(r.body.data.exchangeRate, "3000.12345678");
    const d = (await detail(r.body.data.outTradeNo)).body.data;
    assert.equal(d.quoteCurrencySymbol, "USD");
    assert.equal(d.quoteAmount, "100");
    assert.equal(d.rateSources[0].pair, "ETH/USD");
    assert.equal(d.rateSources[0].feed, feeds.eth);
  });

  it("prices a CNY order through the CNY/USD feed", async () => {
    const r = await create({ quoteCurrencySymbol: "cny", quoteAmount: "100.00" });
    assert.equal(r.body.code, 200, r.body.msg);
    // 100 CNY · 0.13812345 USD/CNY = 13.812345 USD = 13.812345 USDT (pegged)
    assert.equal(r.body.data.expectedAmount, "13812345");
    assert.equal(r.body.data.exchangeRate, "7.23990024865437404"); // CNY per USDT: 1 / 0.13812345
    const d = (await detail(r.body.data.outTradeNo)).body.data;
    assert.equal(d.quoteCurrencySymbol, "CNY");
    assert.deepEqual(
      d.rateSources.map((s: { pair: string }) => s.pair),
      ["CNY/USD", "USDT/USD"],
    );
  });

  it("keeps the locked amount after the feed moves; a repeated request answers the same order, a new one the new price", async () => {
    const first = await create({ quoteAmount: "50", currencyId: currencyIds.ETH });
    assert.equal(first.body.code, 200, first.body.msg);
    const locked = first.body.data.expectedAmount;
    assert.equal(locked, weiFor(50_00n, ETH_USD).toString());

    await setAnswer(feeds.eth, 2500_00000000n);
    const d = (await detail(first.body.data.outTradeNo)).body.data;
    assert.equal(d.expectedAmount, locked);
    assert.equal(d.exchangeRate, "3000.12345678");

    const again = await create({ quoteAmount: "50", currencyId: currencyIds.ETH, outTradeNo: first.body.data.outTradeNo });
    assert.equal(again.body.code, 200, again.body.msg);
    assert.equal(again.body.data.outPaymentNo, first.body.data.outPaymentNo);
    assert.equal(again.body.data.expectedAmount, locked);
    assert.equal(again.body.data.exchangeRate, "3000.12345678");

    const fresh = await create({ quoteAmount: "50", currencyId: currencyIds.ETH });
    assert.equal(fresh.body.data.expectedAmount, weiFor(50_00n, 2500_00000000n).toString());
    assert.equal(fresh.body.data.exchangeRate, "2500");
    await setAnswer(feeds.eth, ETH_USD);
  });

  it("refuses a quote from a stale feed (older than its heartbeat) with 50302, nothing written", async () => {
    const earlier = await create({ quoteAmount: "30", currencyId: currencyIds.ETH });
    assert.equal(earlier.body.code, 200, earlier.body.msg);
    const stale = (await chainNow()) - BigInt(2 * HOUR);
    await setRound(feeds.eth, 100n, ETH_USD, stale);
    const before = await tableCounts(gw.db);
    // a retry of a create that succeeded still answers its order (idempotent by outTradeNo, no quote needed) ...
    const retried = await create({ quoteAmount: "30", currencyId: currencyIds.ETH, outTradeNo: earlier.body.data.outTradeNo });
    assert.equal(retried.body.code, 200, retried.body.msg);
    assert.equal(retried.body.data.outPaymentNo, earlier.body.data.outPaymentNo);
    assert.equal(retried.body.data.expectedAmount, earlier.body.data.expectedAmount);
    // ... and other parameters under its outTradeNo are still a conflict
    const other = await create({ quoteAmount: "31", currencyId: currencyIds.ETH, outTradeNo: earlier.body.data.outTradeNo });
    assert.equal(other.body.code, 40901);
    const r = await create({ currencyId: currencyIds.ETH });
    assert.equal(r.status, 503);
    assert.equal(r.body.code, 50302);
    assert.match(r.body.msg, /stale/);
    assert.match(r.body.msg, new RegExp(feeds.eth, "i"));
    assert.deepEqual(await tableCounts(gw.db), before);
    // the stablecoin is priced from its own feed, still fresh
    assert.equal((await create({})).body.code, 200);
    await setAnswer(feeds.eth, ETH_USD);
    assert.equal((await create({ currencyId: currencyIds.ETH })).body.code, 200);
  });

  it("refuses zero, negative and off-peg answers with 50302, nothing written", async () => {
    const before = await tableCounts(gw.db);
    await setAnswer(feeds.eth, 0n);
    let r = await create({ currencyId: currencyIds.ETH });
    assert.equal(r.body.code, 50302);
    assert.match(r.body.msg, /answers 0/);
    await setAnswer(feeds.eth, -1n);
    r = await create({ currencyId: currencyIds.ETH });
    assert.equal(r.body.code, 50302);
    assert.match(r.body.msg, /negative/);
    await setAnswer(feeds.usdt, 95000000n); // 0.95: 5% off a 1% band
    r = await create({});
    assert.equal(r.body.code, 50302);
    assert.match(r.body.msg, /off its USD peg/);
    assert.deepEqual(await tableCounts(gw.db), before);
    await setAnswer(feeds.eth, ETH_USD);
    await setAnswer(feeds.usdt, 1_00020000n);
  });

  it("says what to fix: an unpriced currency (40013), a bad amount (40002), a chain without pricing (40012)", async () => {
    const before = await tableCounts(gw.db);
    let r = await create({ quoteCurrencySymbol: "JPY", quoteAmount: "1000" });
    assert.equal(r.body.code, 40013);
    assert.match(r.body.msg, /USD, CNY/);
    r = await create({ quoteCurrencySymbol: "USDT" });
    assert.equal(r.body.code, 40001);
    assert.match(r.body.msg, /ISO 4217/);
    r = await create({ quoteAmount: "12.345" });
    assert.equal(r.body.code, 40002);
    r = await create({ quoteAmount: "0" });
    assert.equal(r.body.code, 40002);
    r = await create({ chainId: 137 });
    assert.equal(r.body.code, 40012);
    assert.match(r.body.msg, /chain 137/);
    assert.deepEqual(await tableCounts(gw.db), before);
  });

  it("payInfo/update re-quotes a fiat order in the new coin at the current rate, with a fresh countdown; what arrived keeps its share", async () => {
    const created = await create({ quoteAmount: "100", expireSeconds: 600 });
    assert.equal(created.body.code, 200, created.body.msg);
    const o = created.body.data;
    // 200 s have passed and 40 of the 100 USDT arrived (as the follower would record it)
    await gw.db.query(
      `UPDATE payment_orders SET created_at = created_at - interval '200 seconds', expires_at = expires_at - interval '200 seconds',
         seen_amount = 40000000, paid_amount = 40000000, status = 1 WHERE id = $1`,
      [o.outPaymentNo],
    );
    const oldExpiry = Date.parse(`${(await detail(o.outTradeNo)).body.data.expireTime}Z`);
    const moved = await call(gw, merchant(), "POST", "payment/payInfo/update", {
      chainId: 31337,
      currencyId: currencyIds.ETH,
      outTradeNo: o.outTradeNo,
    });
    assert.equal(moved.body.code, 200, moved.body.msg);
    const expected = weiFor(100_00n, ETH_USD);
    assert.equal(moved.body.data.symbol, "ETH");
    assert.equal(moved.body.data.expectedAmount, expected.toString());
    assert.equal(
      moved.body.data.paidAmount,
      ((expected * 40n) / 100n).toString(),
      "40% of the order arrived: 40% of the new amount, rounded down",
    );
    assert.equal(moved.body.data.exchangeRate, "3000.12345678");
    const newExpiry = Date.parse(`${moved.body.data.expireTime}Z`);
    assert.ok(newExpiry - oldExpiry >= 190_000, `a fresh 600 s countdown (was ${moved.body.data.expireTime})`);
    assert.equal(moved.body.data.rateLockedUntil, moved.body.data.expireTime);

    const d = (await detail(o.outTradeNo)).body.data;
    assert.equal(d.isLegalTender, 1);
    assert.equal(d.quoteCurrencySymbol, "USD");
    assert.equal(d.quoteAmount, "100");
    assert.equal(d.state, 1);
    assert.equal(d.exchangeRate, "3000.12345678");
    assert.deepEqual(
      d.rateSources.map((s: { pair: string }) => s.pair),
      ["ETH/USD"],
    );
    assert.equal(d.earlierChoices.length, 1);
    assert.equal(d.earlierChoices[0].symbol, "USDT");
    assert.equal(d.earlierChoices[0].paidAmount, "40000000");

    // the same coin again changes nothing; back to USDT re-quotes again (1 USD per USDT, 40% carried)
    // (signed a second later: the same signed write twice is a replay, 40105)
    const later = { timestamp: String(Math.floor(Date.now() / 1000) + 1) };
    const again = await call(
      gw,
      merchant(),
      "POST",
      "payment/payInfo/update",
      { chainId: 31337, currencyId: currencyIds.ETH, outTradeNo: o.outTradeNo },
      later,
    );
    assert.equal(again.body.code, 200, again.body.msg);
    assert.equal(again.body.data.expectedAmount, expected.toString());
    const back = await call(gw, merchant(), "POST", "payment/payInfo/update", {
      chainId: 31337,
      currencyId: currencyIds.USDT,
      outTradeNo: o.outTradeNo,
    });
    assert.equal(back.body.code, 200, back.body.msg);
    assert.equal(back.body.data.expectedAmount, "100000000");
    assert.equal(back.body.data.paidAmount, ((((expected * 40n) / 100n) * 100000000n) / expected).toString());
    assert.equal(back.body.data.exchangeRate, "1");
  });

  it("payInfo/update of a fiat order: a stale feed answers 50302 and nothing moves; a chain without pricing 40012", async () => {
    const o = (await create({ quoteAmount: "20" })).body.data;
    const stale = (await chainNow()) - BigInt(2 * HOUR);
    await setRound(feeds.eth, 200n, ETH_USD, stale);
    const before = await tableCounts(gw.db);
    const r = await call(gw, merchant(), "POST", "payment/payInfo/update", {
      chainId: 31337,
      currencyId: currencyIds.ETH,
      outTradeNo: o.outTradeNo,
    });
    assert.equal(r.body.code, 50302);
    assert.match(r.body.msg, /stale/);
    assert.deepEqual(await tableCounts(gw.db), before);
    const d = (await detail(o.outTradeNo)).body.data;
    assert.equal(d.symbol, "USDT");
    assert.equal(d.expectedAmount, "20000000");
    assert.equal(d.userWalletAddress, o.userWalletAddress);
    assert.equal(d.expireTime, o.expireTime);
    await setAnswer(feeds.eth, ETH_USD);

    const pol = await call(gw, merchant(), "POST", "payment/payInfo/update", {
      chainId: 137,
      currencyId: currencyIds.POL,
      outTradeNo: o.outTradeNo,
    });
    assert.equal(pol.body.code, 40012);
    assert.equal((await detail(o.outTradeNo)).body.data.symbol, "USDT");
  });

  it("concurrent fiat creates (one batched statement) each carry their quote; a quote the table refuses leaves no order and no lease", async () => {
    await setAnswer(feeds.usdt, 1_00020000n); // a new block: the burst below must read the feed again
    const requestsBefore = rpc.stats.requests;
    const many = await Promise.all(Array.from({ length: 24 }, (_, i) => create({ quoteAmount: `${i + 1}.25` })));
    // one process-wide quoter: the burst shares one block number and one read of the USDT/USD feed (latestRoundData
    // and decimals in one JSON-RPC batch), not 24
    const requests = rpc.stats.requests - requestsBefore;
    assert.ok(requests >= 1 && requests <= 3, `24 fiat creates cost ${requests} RPC requests`);
    assert.deepEqual(
      many.map((r) => r.body.code),
      many.map(() => 200),
    );
    const ids = many.map((r) => r.body.data.outPaymentNo as string);
    const rows = await gw.db.query(
      "SELECT id, amount::text, fiat_amount::text, quote_currency FROM payment_orders WHERE id = ANY($1::text[])",
      [ids],
    );
    assert.equal(rows.length, 24);
    for (const r of rows) {
      assert.equal(r.quote_currency, "USD");
      assert.equal(BigInt(r.amount), BigInt(r.fiat_amount) * 10_000n, "USDT (6 decimals) at 1 USD: cents · 10^4");
    }

    // the store's create with a quote the table's CHECK refuses (a zero rate): the whole create is undone
    const before = await tableCounts(gw.db);
    const leased = async () => Number((await gw.db.query("SELECT count(*)::text AS n FROM address_pool WHERE order_id IS NOT NULL"))[0]!.n);
    const leasedBefore = await leased();
    const id = newId();
    await assert.rejects(
      createPaymentOrder(gw.db, {
        id,
        merchantId: merchant().merchantId,
        merchantOrderId: `bad-quote-${id}`,
        requestHash: "x",
        chainId: 31337,
        vault: VAULT as Address,
        initCodeHash: depositInitCodeHash(VAULT as Address),
        tokenAddress: USDT,
        tokenSymbol: "USDT",
        tokenDecimals: 6,
        amount: 1_000_000n,
        notifyUrl: "https://shop.example.com/notify",
        redirectionUrl: null,
        accessSign: "x",
        expiresAt: new Date(Date.now() + 600_000),
        description: "",
        quoteSymbol: "USD",
        quoteAmount: "1",
        isLegalTender: 1,
        quote: {
          currency: "USD",
          fiatAmount: 100n,
          fiatDecimals: 2,
          rate: "0",
          sources: [],
          quotedAt: new Date(),
          lockedUntil: new Date(Date.now() + 600_000),
        },
      }),
      (e: unknown) => e instanceof DatabaseError && e.sqlState === "23514", // check_violation: quote_rate > 0
    );
    assert.deepEqual(await tableCounts(gw.db), before);
    assert.equal(await leased(), leasedBefore);
  });

  it("the doctor reads the feeds as a create would: ok while they answer, a warning naming the feed when one is stale", async () => {
    const chain = gw.config.chains.find((c) => c.chainId === 31337)!;
    const client = doctorClient(chain, 5_000);
    let findings = await checkPriceFeeds(chain, client);
    assert.deepEqual(
      findings.map((f) => [f.check, f.status, f.blocking]),
      [
        ["price-feed", "ok", false],
        ["price-feed", "ok", false],
        ["price-feed", "ok", false],
      ],
    );
    assert.match(findings[0]!.message, /^ETH is priced at 3000\.12345678 USD \(ETH\/USD round \d+, updated \d+ s ago\)$/);
    assert.match(findings[1]!.message, /^USDT is priced at 1 USD \(pegged to USD\)/);
    assert.match(findings[2]!.message, /^CNY\/USD answers/);

    await setRound(feeds.eth, 300n, ETH_USD, (await chainNow()) - BigInt(2 * HOUR));
    findings = await checkPriceFeeds(chain, client);
    assert.equal(findings[0]!.status, "warn");
    assert.equal(findings[0]!.token, "0x0000000000000000000000000000000000000000");
    assert.match(findings[0]!.message, /ETH\/USD: .*stale/);
    assert.match(findings[0]!.fix!, /chains\[31337\]\.pricing/);
    assert.deepEqual(
      findings.slice(1).map((f) => f.status),
      ["ok", "ok"],
    );
    assert.deepEqual(
      await checkPriceFeeds(
        gw.config.chains.find((c) => c.chainId === 137)!,
        client,
      ),
      [],
      "no pricing, no finding",
    );
    await setAnswer(feeds.eth, ETH_USD);
  });

  it("conf/list/currency shows each token's USD price (exchangeRate), null where the chain has no feed", async () => {
    const list = (await call(gw, merchant(), "GET", "conf/list/currency")).body.data as { symbol: string; exchangeRate: string | null }[];
    const rate = (s: string) => list.find((c) => c.symbol === s)!.exchangeRate;
    assert.equal(rate("ETH"), "3000.12345678");
    assert.equal(rate("USDT"), "1");
    assert.equal(rate("POL"), null);
  });
});
