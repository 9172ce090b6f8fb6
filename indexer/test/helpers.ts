import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../src/api/app.js";
import { resolveConfig, type GatewayConfig } from "../src/config.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { paySignature } from "../src/crypto/signing.js";
import type { Db } from "../src/store/db.js";
import { createMerchant, type CreatedMerchant } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";
import { CHAIN_PG_URL, chainPostgresReachable } from "./chainHarness.js";

export const PG_URL = CHAIN_PG_URL;
export const VAULT = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
export const USDT = "0xdAC17F958D2ee523a2206206994597C13D831ec7";
/** Merchant A's payout signer (a Hardhat test key; merchant B registers none). */
export const SIGNER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
export const SIGNER_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

/** Whether the PostgreSQL test server answers (1 s timeout). */
export const postgresReachable = chainPostgresReachable;

export type Backend = "pglite" | "postgres";

export type TestGateway = {
  url: string;
  db: Db;
  app: FastifyInstance;
  config: GatewayConfig;
  merchants: CreatedMerchant[];
  close(): Promise<void>;
};

export function testConfig(): GatewayConfig {
  return resolveConfig({
    masterKey: randomBytes(32),
    payPageUrl: "https://pay.example.test/pay",
    chains: [
      {
        chainId: 31337,
        code: "local",
        name: "Hardhat",
        vault: VAULT,
        confirmations: 1,
        tokens: [
          { symbol: "ETH", address: "0x0000000000000000000000000000000000000000", decimals: 18 },
          { symbol: "USDT", address: USDT, decimals: 6 },
        ],
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
}

/** Starts the gateway over real HTTP on 127.0.0.1:0 with two merchants, on a fresh database. */
export async function startGateway(backend: Backend, overrides: Partial<GatewayConfig> = {}): Promise<TestGateway> {
  const config = { ...testConfig(), ...overrides };
  const schema = `gw_test_${Date.now()}_${randomBytes(3).toString("hex")}`;
  const db =
    backend === "pglite" ? await openStore({ pgliteDir: "memory://" }) : await openStore({ databaseUrl: PG_URL, schema, poolSize: 20 });
  const box = createSecretBox(config.masterKey);
  const merchants = [
    await createMerchant(db, box, { name: "Shop A", id: 1n, payoutSigner: SIGNER_ADDRESS }),
    await createMerchant(db, box, { name: "Shop B", id: 2n }),
  ];
  const app = await buildApp({ db, config });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const addr = app.server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}`,
    db,
    app,
    config,
    merchants,
    async close() {
      await app.close();
      if (backend === "postgres") await db.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
      await db.close();
    },
  };
}

export type SignOverrides = {
  key?: string;
  secret?: string;
  /** X-PAY-TIMESTAMP (default: now, unix seconds) */
  timestamp?: string;
  sign?: string;
  omit?: string[];
  /** the raw body to send (and sign) instead of JSON.stringify(payload) */
  rawBody?: string;
  contentType?: string | null;
  /** the request target to send and sign instead of the one built from path and payload */
  target?: string;
};

export type ApiResponse = { status: number; body: { code: number; msg: string; data: any } };

/** Sends a request signed by Pay Protocol's rule, as a merchant would (GET: payload as the query string; POST: as the JSON body). */
export async function call(
  gw: TestGateway,
  merchant: CreatedMerchant,
  method: "GET" | "POST",
  path: string,
  payload?: unknown,
  o: SignOverrides = {},
): Promise<ApiResponse> {
  let url = `/api/mer/${path}`;
  let body = "";
  const query = method === "GET" && payload ? new URLSearchParams(payload as Record<string, string>).toString() : "";
  if (query) url += `?${query}`;
  if (o.target) url = o.target;
  if (method === "POST") body = o.rawBody ?? JSON.stringify(payload ?? {});
  const timestamp = o.timestamp ?? String(Math.floor(Date.now() / 1000));
  const sign = o.sign ?? paySignature(o.secret ?? merchant.apiSecret, { timestamp, method, requestPath: url, body });
  const headers: Record<string, string> = {
    "x-pay-key": o.key ?? merchant.apiKey,
    "x-pay-timestamp": timestamp,
    "x-pay-sign": sign,
  };
  if (method === "POST" && o.contentType !== null) headers["content-type"] = o.contentType ?? "application/json";
  for (const h of o.omit ?? []) delete headers[h];
  const res = await fetch(gw.url + url, { method, headers, body: method === "POST" ? body : undefined });
  const text = await res.text();
  let parsed: ApiResponse["body"];
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { code: 0, msg: text, data: null };
  }
  return { status: res.status, body: parsed };
}

/** Row counts of every table a request could change. */
export async function tableCounts(db: Db): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of [
    "payment_orders",
    "address_pool",
    "users",
    "user_wallets",
    "outbox_events",
    "refund_orders",
    "withdrawals",
    "withdrawal_orders",
    "settlement_orders",
    "merchant_qr_codes",
    "payment_order_choices",
    "api_nonces",
  ]) {
    const [r] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${t}`);
    out[t] = Number(r!.n);
  }
  return out;
}
