/**
 * `npm run bench:api [-- --duration 10 --rounds 2 --connections 16 --detail-connections 24 --pool 16 --phases create,fiat,detail,bare]`
 *
 * Starts the gateway (buildApp + listen on 127.0.0.1, scripts/lib/apiBenchServer.ts, one process) on a
 * fresh schema of the PostgreSQL server (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test),
 * creates a merchant and drives the server with autocannon from this process, every request signed by Pay
 * Protocol's rule as it is sent (setupRequest: Base64 HMAC-SHA256 over timestamp + METHOD + path?query + body):
 * createPaymentOrder (a new outTradeNo each, a quoteAmount "12.50" in USDT), then the same priced in fiat
 * (isLegalTender 1, "12.50" USD, priced in USDT pegged to USD and checked against a MockAggregatorV3 USDT/USD
 * feed on a `hardhat node` the bench starts: the feed is read over JSON-RPC at most once per block, so this
 * measures the fiat path's own cost: the quote, and the insert with its quote in one transaction), then payment/detail of random
 * created orders by both numbers (as Pay Protocol's WooCommerce plugin reads them), then GET /health (a route
 * that does nothing: the ceiling).
 * Each round runs the three phases after a short warm-up; the best round per route is reported. Writes
 * bench/results/api.json, prints a table, drops the schema and exits non-zero if a target is missed or a
 * request failed.
 *
 * Connections: 16 for creates (on these two cores more only queue: throughput stays, p99 grows), 24 for
 * reads and the bare route.
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { encodeDeployData } from "viem";
import { createSecretBox } from "../indexer/src/crypto/secretBox.js";
import { paySignature } from "../indexer/src/crypto/signing.js";
import { createMerchant } from "../indexer/src/store/merchants.js";
import { openStore } from "../indexer/src/store/open.js";
import { artifact, startHardhatNode } from "../indexer/test/chainHarness.js";

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    rounds: { type: "string", default: "2" },
    connections: { type: "string", default: "16" },
    "detail-connections": { type: "string", default: "24" },
    "bare-connections": { type: "string", default: "24" },
    pool: { type: "string", default: "16" },
    /** while tuning: run only some phases (detail needs create) */
    phases: { type: "string", default: "create,fiat,detail,bare" },
  },
});
const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const ROUNDS = Number(args.rounds);
const CONNECTIONS = {
  create: Number(args.connections),
  detail: Number(args["detail-connections"]),
  bare: Number(args["bare-connections"]),
};
const POOL = Number(args.pool);
const PHASES = new Set(args.phases!.split(","));
const PG_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const OUT = path.join(process.cwd(), "bench", "results", "api.json");
const TARGETS = {
  createPaymentOrderRps: { min: 1500 },
  createPaymentOrderP99Ms: { max: 25 },
  createFiatOrderRps: { min: 1000 },
  paymentDetailRps: { min: 4000 },
  paymentDetailP99Ms: { max: 12 },
} as const;

// --- the price feed of fiat creates: a hardhat node with a MockAggregatorV3 USDT/USD feed --------------
const node = PHASES.has("fiat") ? await startHardhatNode() : null;
let pricing: object | undefined;
if (node) {
  const [admin] = await node.rpc<string[]>("eth_accounts");
  const { abi, bytecode } = artifact("contracts/mocks/MockAggregatorV3.sol/MockAggregatorV3.json");
  const hash = await node.rpc<string>("eth_sendTransaction", [
    { from: admin, data: encodeDeployData({ abi, bytecode, args: [8, "USDT / USD", 1_00010000n] }), gas: "0x2dc6c0" },
  ]);
  const { contractAddress } = await node.rpc<{ contractAddress: string }>("eth_getTransactionReceipt", [hash]);
  pricing = { tokens: { USDT: { peg: "USD", feed: { address: contractAddress, heartbeatSeconds: 86_400 } } } };
}

const CHAINS = [
  {
    chainId: 31337,
    code: "local",
    name: "Hardhat",
    vault: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    confirmations: 1,
    tokens: [{ symbol: "USDT", address: "0xdAC17F958D2ee523a2206206994597C13D831ec7", decimals: 6 }],
    ...(node ? { rpcUrl: node.url, pricing } : {}),
  },
];

// --- database and merchant ---------------------------------------------------------------------------
const schema = `bench_api_${Date.now()}_${randomBytes(3).toString("hex")}`;
const masterKey = randomBytes(32);
const db = await openStore({ databaseUrl: PG_URL, schema, poolSize: 2 });
const merchant = await createMerchant(db, createSecretBox(masterKey), { name: "Bench shop", id: 1n });
const pgVersion = (await db.query<{ server_version: string }>("SHOW server_version"))[0]!.server_version;

// --- the gateway process -----------------------------------------------------------------------------
const server = fork(path.join(import.meta.dirname, "lib", "apiBenchServer.ts"), [], {
  // BENCH_SERVER_NODE_ARGS="--cpu-prof" profiles the gateway process
  execArgv: ["--import", "tsx", ...(process.env.BENCH_SERVER_NODE_ARGS?.split(" ").filter(Boolean) ?? [])],
  env: {
    ...process.env,
    BENCH_MASTER_KEY: masterKey.toString("hex"),
    BENCH_CHAINS: JSON.stringify(CHAINS),
    BENCH_DATABASE_URL: PG_URL,
    BENCH_SCHEMA: schema,
    BENCH_POOL: String(POOL),
  },
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});
const ready = await new Promise<{ port: number; node: string }>((resolve, reject) => {
  server.once("message", (m) => resolve(m as { port: number; node: string }));
  server.once("exit", (code) => reject(new Error(`the gateway process exited (${code}) before listening`)));
});
const BASE = `http://127.0.0.1:${ready.port}`;

// --- signed requests ---------------------------------------------------------------------------------
const sign = (method: "GET" | "POST", requestPath: string, body: string) => {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return {
    "x-pay-key": merchant.apiKey,
    "x-pay-timestamp": timestamp,
    "x-pay-sign": paySignature(merchant.apiSecret, { timestamp, method, requestPath, body }),
  };
};
let seq = 0;
/** A signed createPaymentOrder of 12.50: in USDT (crypto quote) or in USD priced from the feed (fiat quote). */
const createOrderRequest = (fiat: boolean) => ({
  method: "POST" as const,
  path: "/api/mer/payment/createPaymentOrder",
  setupRequest(req: any) {
    const body = JSON.stringify({
      chainId: 31337,
      description: "bench order",
      outTradeNo: `${fiat ? "f" : "b"}-${process.pid}-${++seq}`,
      isLegalTender: fiat ? 1 : 0,
      quoteCurrencySymbol: fiat ? "USD" : "USDT",
      quoteAmount: "12.50",
      notifyUrl: "https://shop.example.test/notify",
      redirectionUrl: "https://shop.example.test/done",
    });
    return { ...req, body, headers: { "content-type": "application/json", ...sign("POST", req.path, body) } };
  },
});
const createRequest = createOrderRequest(false);
const fiatRequest = createOrderRequest(true);
let orders: { out_trade_no: string; id: string }[] = [];
const detailRequest = {
  method: "GET" as const,
  path: "/api/mer/payment/detail",
  setupRequest(req: any) {
    const o = orders[Math.floor(Math.random() * orders.length)]!;
    const url = `/api/mer/payment/detail?outTradeNo=${o.out_trade_no}&outPaymentNo=${o.id}`;
    return { ...req, path: url, headers: sign("GET", url, "") };
  },
};
const bareRequest = { method: "GET" as const, path: "/health" };

const SKIPPED: Phase = { rps: 0, p50Ms: 0, p99Ms: 0, maxMs: 0, total: 0, non2xx: 0, errors: 0, timeouts: 0 };
type Phase = { rps: number; p50Ms: number; p99Ms: number; maxMs: number; total: number; non2xx: number; errors: number; timeouts: number };
async function drive(request: object, connections: number, seconds: number): Promise<Phase> {
  if (seconds <= 0) return SKIPPED;
  const r = await autocannon({ url: BASE, connections, duration: seconds, requests: [request] });
  return {
    rps: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    total: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

// --- rounds ------------------------------------------------------------------------------------------
const loadBefore = os.loadavg();
const rounds: { create: Phase; fiat: Phase; detail: Phase; bare: Phase }[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  const on = (phase: string, seconds: number) => (PHASES.has(phase) ? seconds : 0);
  await drive(createRequest, CONNECTIONS.create, on("create", WARMUP));
  const create = await drive(createRequest, CONNECTIONS.create, on("create", DURATION));
  await drive(fiatRequest, CONNECTIONS.create, on("fiat", WARMUP));
  const fiat = await drive(fiatRequest, CONNECTIONS.create, on("fiat", DURATION));
  orders = await db.query<{ out_trade_no: string; id: string }>(
    "SELECT merchant_order_id AS out_trade_no, id FROM payment_orders ORDER BY random() LIMIT 20000",
  );
  await drive(detailRequest, CONNECTIONS.detail, on("detail", WARMUP));
  const detail = await drive(detailRequest, CONNECTIONS.detail, on("detail", DURATION));
  const bare = await drive(bareRequest, CONNECTIONS.bare, on("bare", DURATION));
  rounds.push({ create, fiat, detail, bare });
  console.log(
    `round ${round}: create ${create.rps}/s p99 ${create.p99Ms} ms, fiat create ${fiat.rps}/s p99 ${fiat.p99Ms} ms, detail ${detail.rps}/s p99 ${detail.p99Ms} ms, bare ${bare.rps}/s`,
  );
}

// every create that answered 200 made its own order with its own address
const [check] = await db.query<{ orders: string; addresses: string; leased: string; fiat: string; quoted: string }>(
  `SELECT count(*)::text AS orders, count(DISTINCT receipt_address)::text AS addresses,
          (SELECT count(*) FROM address_pool WHERE order_id IS NOT NULL)::text AS leased,
          count(*) FILTER (WHERE is_legal_tender = 1)::text AS fiat, count(quote_currency)::text AS quoted
   FROM payment_orders`,
);
server.send("stop");
await new Promise((resolve) => server.once("exit", resolve));
node?.stop();
await db.query(`DROP SCHEMA ${schema} CASCADE`);
await db.close();

// --- report ------------------------------------------------------------------------------------------
const best = (pick: (r: (typeof rounds)[number]) => Phase) => rounds.map(pick).reduce((a, b) => (b.rps > a.rps ? b : a));
const create = best((r) => r.create);
const fiat = best((r) => r.fiat);
const detail = best((r) => r.detail);
const bare = best((r) => r.bare);
const figures = {
  createPaymentOrderRps: create.rps,
  createPaymentOrderP99Ms: create.p99Ms,
  createFiatOrderRps: fiat.rps,
  createFiatOrderP99Ms: fiat.p99Ms,
  paymentDetailRps: detail.rps,
  paymentDetailP99Ms: detail.p99Ms,
  bareRouteRps: bare.rps,
};
const targets = Object.fromEntries(
  Object.entries(TARGETS)
    .filter(([k]) => k !== "createFiatOrderRps" || PHASES.has("fiat"))
    .map(([k, t]) => {
      const v = figures[k as keyof typeof figures];
      const pass = "min" in t ? v >= t.min : v <= t.max;
      return [k, { ...t, measured: v, pass }];
    }),
);
const failed = rounds.flatMap((r) => [r.create, r.fiat, r.detail, r.bare]).reduce((n, p) => n + p.non2xx + p.errors + p.timeouts, 0);
const createdOk = rounds.reduce((n, r) => n + r.create.total + r.fiat.total, 0);
const json = {
  ...figures,
  targets,
  allTargetsMet: Object.values(targets).every((t) => t.pass),
  failedRequests: failed,
  consistency: {
    ordersInDb: Number(check!.orders),
    distinctAddresses: Number(check!.addresses),
    leasedAddresses: Number(check!.leased),
    createRequestsSent: createdOk,
    fiatOrdersInDb: Number(check!.fiat),
    fiatOrdersWithQuote: Number(check!.quoted),
  },
  connections: CONNECTIONS,
  durationSeconds: DURATION,
  warmupSeconds: WARMUP,
  rounds: rounds.length,
  roundFigures: rounds,
  processes: { gateway: 1, loadGenerator: 1, postgresPoolPerGateway: POOL },
  node: ready.node,
  postgres: pgVersion,
  cpus: os.cpus().length,
  loadAverageBefore: loadBefore.map((x) => Number(x.toFixed(2))),
  measuredAt: new Date().toISOString(),
  note:
    "best round per route (highest req/s, with that round's p99); load generator (autocannon, one process) on the same cores as the gateway and PostgreSQL; " +
    "every merchant request signed by Pay Protocol's rule (no nonce: creates are idempotent by outTradeNo, reads repeat); one merchant, rate limit raised for the bench; bareRouteRps = GET /health on the same server",
};
await mkdir(path.dirname(OUT), { recursive: true });
await writeFile(`${OUT}.tmp`, JSON.stringify(json, null, 2) + "\n");
await rename(`${OUT}.tmp`, OUT);

const row = (name: string, p: Phase, target: string) =>
  `| ${name.padEnd(26)} | ${String(p.rps).padStart(7)} | ${p.p50Ms.toFixed(1).padStart(6)} | ${p.p99Ms.toFixed(1).padStart(6)} | ${String(p.non2xx + p.errors + p.timeouts).padStart(6)} | ${target} |`;
const mark = (k: keyof typeof TARGETS) => (!targets[k] ? "skipped" : targets[k].pass ? "ok" : "MISSED");
console.log("");
console.log(`| route                      |   req/s | p50 ms | p99 ms | failed | target |`);
console.log(`|----------------------------|---------|--------|--------|--------|--------|`);
console.log(
  row("payment/createPaymentOrder", create, `>= 1500/s ${mark("createPaymentOrderRps")}, p99 <= 25 ms ${mark("createPaymentOrderP99Ms")}`),
);
console.log(row("createPaymentOrder (fiat)", fiat, `>= 1000/s ${mark("createFiatOrderRps")} (USD priced in USDT, feed on a hardhat node)`));
console.log(row("payment/detail", detail, `>= 4000/s ${mark("paymentDetailRps")}, p99 <= 12 ms ${mark("paymentDetailP99Ms")}`));
console.log(row("GET /health (bare)", bare, "ceiling"));
console.log("");
console.log(
  `connections ${JSON.stringify(CONNECTIONS)}, ${DURATION} s per phase, ${rounds.length} rounds (best shown), 1 gateway process (pg pool ${POOL}) + 1 autocannon process, ${os.cpus().length} cpus, node ${ready.node}, PostgreSQL ${pgVersion}, load before ${json.loadAverageBefore.join(" ")}`,
);
console.log(`orders in db ${check!.orders}, distinct addresses ${check!.addresses}; wrote ${path.relative(process.cwd(), OUT)}`);
if (failed > 0) {
  console.error(`${failed} requests failed (non-2xx, errors or timeouts)`);
  process.exitCode = 1;
}
if (Number(check!.fiat) !== Number(check!.quoted)) {
  console.error("a fiat order exists without its quote");
  process.exitCode = 1;
}
if (Number(check!.orders) !== Number(check!.addresses)) {
  console.error("two orders share an address");
  process.exitCode = 1;
}
const missed = Object.entries(targets).filter(([, t]) => !t.pass);
if (missed.length) {
  console.error(`TARGETS MISSED: ${missed.map(([k, t]) => `${k} ${t.measured}`).join(", ")}`);
  process.exitCode = 1;
}
