/**
 * Webhook latency for `npm run bench:indexer`: the gateway (`indexer/src/server.ts`, as `npm start` runs it)
 * in a child process on a fresh PostgreSQL database and the bench's `hardhat node`, a merchant server in
 * this process that verifies every webhook. Each round pays a few orders in one block, mines the blocks
 * on top by hand, and times from the moment the block that brings the payments to their required depth
 * is mined (just before `evm_mine` is sent) to the moment the merchant server has the success webhook
 * (state 4) verified.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { encodeFunctionData } from "viem";
import { createPayClient, verifyWebhook } from "../../sdk/src/index.js";
import { createSecretBox } from "../../indexer/src/crypto/secretBox.js";
import { createMerchant } from "../../indexer/src/store/merchants.js";
import { openStore } from "../../indexer/src/store/open.js";
import { deployFixture, fixtureChainConfig, freePort, spawnGatewayServer, type HardhatNode } from "../../indexer/test/chainHarness.js";

const CONFIRMATIONS = 3;

export type WebhookLatencyReport = {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  rounds: number;
  paymentsPerBlock: number;
  confirmations: number;
  headSource: string;
  /** the balance net's load during the run: open native orders read every block, the slow cycle's interval */
  balanceNet: { openNativeOrders: number; cycleMs: number } | null;
};

export async function webhookLatencyRun(
  node: HardhatNode,
  adminUrl: string,
  o: { rounds: number; perBlock: number; balanceNet?: { openNativeOrders: number; cycleMs: number } },
  say: (s: string) => void,
): Promise<WebhookLatencyReport> {
  const dbName = `bench_webhook_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = adminUrl.replace(/\/[^/]*$/, `/${dbName}`);
  const dir = mkdtempSync(path.join(tmpdir(), "bench-webhook-"));
  let child: ChildProcess | undefined;
  let merchantServer: http.Server | undefined;
  let db: Awaited<ReturnType<typeof openStore>> | undefined;
  try {
    const fx = await deployFixture(node);
    const masterKey = randomBytes(32);
    db = await openStore({ databaseUrl: dbUrl });
    const m = await createMerchant(db, createSecretBox(masterKey), { id: fx.merchantId, name: "Bench shop", payoutSigner: fx.admin });

    // outPaymentNo -> resolves with the time its paid callback was verified
    const waiting = new Map<string, (t: number) => void>();
    merchantServer = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        try {
          const e = verifyWebhook<{ outPaymentNo: string; paymentStatus: number }>({
            apiSecret: m.apiSecret,
            requestPath: req.url!,
            headers: req.headers,
            body: Buffer.concat(chunks),
          });
          if (e.data.paymentStatus === 0) waiting.get(e.data.outPaymentNo)?.(performance.timeOrigin + performance.now());
          res.writeHead(200).end("success");
        } catch {
          res.writeHead(400).end("bad signature");
        }
      });
    });
    await new Promise<void>((r) => merchantServer!.listen(0, "127.0.0.1", r));
    const hookUrl = `http://127.0.0.1:${(merchantServer.address() as { port: number }).port}/hook`;

    const port = await freePort();
    const configFile = path.join(dir, "gateway.json");
    const wsUrl = node.url.replace(/^http/, "ws");
    writeFileSync(
      configFile,
      JSON.stringify({
        host: "127.0.0.1",
        port,
        logLevel: "warn",
        allowPrivateWebhookTargets: true,
        pollIntervalMs: 1_000,
        chains: [await fixtureChainConfig(fx, { confirmations: CONFIRMATIONS, wsUrl, balanceNet: o.balanceNet })],
      }),
    );
    child = await spawnGatewayServer({
      configFile,
      databaseUrl: dbUrl,
      masterKeyHex: masterKey.toString("hex"),
      port,
      logLevel: "warn",
      timeoutMs: 30_000,
    });
    const base = `http://127.0.0.1:${port}`;
    const client = createPayClient({ baseUrl: base, apiKey: m.apiKey, apiSecret: m.apiSecret });
    await fx.mint(fx.payer, 10n ** 15n);
    // native orders that stay open: the balance net reads their addresses at every block of the run
    for (let i = 0; i < (o.balanceNet?.openNativeOrders ?? 0); i++) {
      await client.payment.create({
        outTradeNo: `open-${i}`,
        chainId: 31337,
        quoteCurrencySymbol: "ETH",
        quoteAmount: "1",
        notifyUrl: hookUrl,
        expireSeconds: 7 * 24 * 3600,
      });
    }

    const samples: number[] = [];
    await node.rpc("evm_setAutomine", [false]);
    try {
      for (let round = 0; round < o.rounds; round++) {
        const orders = [];
        for (let i = 0; i < o.perBlock; i++) {
          orders.push(
            await client.payment.create({
              outTradeNo: `lat-${round}-${i}`,
              chainId: 31337,
              quoteCurrencySymbol: "USDT",
              quoteAmount: "1.5",
              notifyUrl: hookUrl,
            }),
          );
        }
        const delivered = orders.map((order) => new Promise<number>((resolve) => waiting.set(order.outPaymentNo, resolve)));
        for (const order of orders) {
          const data = encodeFunctionData({ abi: fx.tokenAbi, functionName: "transfer", args: [order.userWalletAddress, 1_500_000n] });
          await node.rpc("eth_sendTransaction", [{ from: fx.payer, to: fx.token, data, gas: "0x30000" }]);
        }
        await node.rpc("evm_mine"); // the payments' block: depth 1
        for (let d = 2; d < CONFIRMATIONS; d++) await node.rpc("evm_mine");
        // let the follower see the blocks below depth, so the figure is the last block's path alone
        await new Promise((r) => setTimeout(r, 150));
        const minedAt = performance.timeOrigin + performance.now();
        await node.rpc("evm_mine"); // required depth reached
        const times = await withTimeout(Promise.all(delivered), 30_000, `round ${round}: success webhooks did not arrive`);
        for (const t of times) samples.push(t - minedAt);
        for (const order of orders) waiting.delete(order.outPaymentNo);
        if ((round + 1) % 10 === 0) say(`  webhook latency: ${round + 1}/${o.rounds} rounds, ${samples.length} success webhooks timed`);
      }
    } finally {
      await node.rpc("evm_setAutomine", [true]);
    }
    samples.sort((a, b) => a - b);
    const q = (p: number) => Math.round(samples[Math.min(samples.length - 1, Math.ceil(p * samples.length) - 1)]! * 10) / 10;
    return {
      samples: samples.length,
      p50Ms: q(0.5),
      p99Ms: q(0.99),
      maxMs: Math.round(samples[samples.length - 1]! * 10) / 10,
      rounds: o.rounds,
      paymentsPerBlock: o.perBlock,
      confirmations: CONFIRMATIONS,
      headSource: "WebSocket newHeads (polling every 1,000 ms as the fallback)",
      balanceNet: o.balanceNet ?? null,
    };
  } finally {
    child?.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    child?.kill("SIGKILL");
    merchantServer?.close();
    await db?.close();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(message)), ms)))]).finally(() =>
    clearTimeout(t),
  );
}
