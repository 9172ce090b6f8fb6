/**
 * The doctor on a real `hardhat node`: each wrong setup the operator can make shows as a failing finding
 * with the command that fixes it; the admin commands (sent with a key, or printed as calldata) fix them;
 * the gateway refuses to start on a wrong chain or a missing vault; a stalled head or a frozen RPC turns
 * /health 503 within the bound and back to 200 when it recovers; /metrics carries the new series.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { decodeFunctionData, getAddress, toFunctionSelector, type Abi, type Address, type Hex } from "viem";
import { formatAbiItem } from "viem/utils";
import { mnemonicToAccount } from "viem/accounts";
import { loadConfig, resolveConfig, type GatewayConfig } from "../src/config.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { createDoctor, VAULT_ADMIN_ABI, VAULT_ROLES, type Finding } from "../src/doctor/index.js";
import { startGateway } from "../src/runtime/gateway.js";
import { openGatewayStore } from "../src/runtime/store.js";
import { createMerchant } from "../src/store/merchants.js";
import { deployFixture, startHardhatNode, type Fixture, type HardhatNode } from "./chainHarness.js";

const run = promisify(execFile);
const MNEMONIC = "test test test test test test test test test test test junk";
const keyOf = (i: number) =>
  `0x${Buffer.from(mnemonicToAccount(MNEMONIC, { addressIndex: i }).getHdKey().privateKey!).toString("hex")}` as Hex;
const ADMIN_KEY = keyOf(0);
const OPERATOR_KEY = keyOf(5);
const OPERATOR = mnemonicToAccount(MNEMONIC, { addressIndex: 5 }).address;
const SIGNER = mnemonicToAccount(MNEMONIC, { addressIndex: 3 }).address;
const DAI = "0x6B175474E89094C44Da98b954EedeAC495271d0F" as Address; // configured, never allowlisted until fixed
const ROOT = path.resolve(import.meta.dirname, "../..");

const find = (findings: Finding[], check: string, extra: Partial<Finding> = {}) =>
  findings.find((f) => f.check === check && Object.entries(extra).every(([k, v]) => (f as Record<string, unknown>)[k] === v));

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<{ value: T; afterMs: number }> {
  const start = Date.now();
  for (;;) {
    const value = await read();
    if (ok(value)) return { value, afterMs: Date.now() - start };
    if (Date.now() - start > ms) assert.fail(`timed out waiting ${ms} ms for ${what}: ${JSON.stringify(value).slice(0, 600)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A JSON-RPC pass-through whose `frozen` switch makes every request hang, like a node that stopped answering. */
async function freezableProxy(target: string) {
  const held = new Set<http.ServerResponse>();
  let frozen = false;
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (frozen) return void held.add(res);
    const upstream = await fetch(target, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: Buffer.concat(chunks),
    }).catch(() => undefined);
    if (!upstream) return void res.writeHead(502).end();
    res.writeHead(upstream.status, { "content-type": "application/json" }).end(await upstream.text());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    freeze: (on: boolean) => {
      frozen = on;
      if (!on) for (const r of held) r.socket?.destroy();
      if (!on) held.clear();
    },
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

describe("doctor", { timeout: 300_000 }, () => {
  let node: HardhatNode;
  let fx: Fixture;
  let dir: string;
  let configFile: string;
  let env: NodeJS.ProcessEnv;
  const cli = (script: string, args: string[], extra: NodeJS.ProcessEnv = {}) =>
    run(process.execPath, ["--import", "tsx", `indexer/src/cli/${script}.ts`, ...args], { env: { ...env, ...extra }, cwd: ROOT });
  const fileConfig = (over: Record<string, unknown> = {}) => ({
    pgliteDir: "pglite",
    masterKeyFile: "master.key",
    chains: [
      {
        chainId: 31337,
        code: "local",
        name: "hardhat node",
        vault: fx.vault,
        rpcUrl: node.url,
        confirmations: 1,
        tokens: [
          { symbol: "USDT", address: fx.token, decimals: 6 },
          { symbol: "DAI", address: DAI, decimals: 18 },
        ],
        operatorMinBalanceWei: "20000000000000000000000", // 20,000 ETH: above what the operator holds
        ...over,
      },
    ],
  });

  before(async () => {
    node = await startHardhatNode();
    fx = await deployFixture(node); // merchant 1 registered (signer = admin, fee 100), USDT and the native coin allowed
    dir = mkdtempSync(path.join(tmpdir(), "gw-doctor-"));
    configFile = path.join(dir, "gateway.json");
    writeFileSync(configFile, JSON.stringify(fileConfig()));
    env = { ...process.env, GATEWAY_CONFIG: configFile, OPERATOR_PRIVATE_KEY: OPERATOR_KEY };
    for (const k of ["DATABASE_URL", "PGLITE_DIR", "GATEWAY_MASTER_KEY", "GATEWAY_MASTER_KEY_FILE", "ADMIN_PRIVATE_KEY"]) delete env[k];
    const config = loadConfig(env, { createMasterKey: true });
    const db = await openGatewayStore(config, { who: "the test" });
    const box = createSecretBox(config.masterKey);
    await createMerchant(db, box, { id: 1n, name: "Registered", feeBps: 100, payoutSigner: fx.admin });
    await createMerchant(db, box, { id: 2n, name: "Forgotten", feeBps: 50, payoutSigner: SIGNER });
    await createMerchant(db, box, { id: 3n, name: "No signer yet", feeBps: 0 });
    await db.close();
  });
  after(async () => {
    node?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("its vault ABI matches the compiled PaymentVault", () => {
    const artifact = JSON.parse(readFileSync(path.join(ROOT, "artifacts/contracts/PaymentVault.sol/PaymentVault.json"), "utf8")) as {
      abi: Abi;
    };
    const compiled = new Set(artifact.abi.filter((x) => x.type === "function" || x.type === "error").map((x) => formatAbiItem(x as never)));
    for (const item of VAULT_ADMIN_ABI)
      assert.ok(compiled.has(formatAbiItem(item as never)), `PaymentVault has no ${formatAbiItem(item as never)}`);
    const merchantFn = artifact.abi.find((x) => x.type === "function" && x.name === "merchant") as unknown as {
      outputs: { components: { name: string }[] }[];
    };
    assert.deepEqual(merchantFn.outputs[0]!.components.map((c) => c.name).slice(0, 2), ["signer", "feeBps"]);
  });

  it("names each wrong setup with the command that fixes it, and the fixes make it pass", async () => {
    await node.rpc("evm_mine"); // a recent block: this quiet node mines only on demand
    const first = await cli("doctor", ["--json"]).then(
      () => assert.fail("doctor should exit 1"),
      (e: { code: number; stdout: string }) => (
        assert.equal(e.code, 1),
        JSON.parse(e.stdout) as { ok: boolean; healthy: boolean; findings: Finding[] }
      ),
    );
    assert.equal(first.ok, false);
    assert.equal(first.healthy, true, "none of these stops the service: /health stays 200");
    const f = first.findings;
    assert.match(
      find(f, "operator-role")!.fix!,
      new RegExp(`npm run admin -- grant-role --chain 31337 --role operator --account ${OPERATOR}`),
    );
    assert.equal(find(f, "operator-balance")!.status, "warn");
    assert.match(find(f, "operator-balance")!.fix!, new RegExp(`send at least .* to ${OPERATOR}`));
    assert.equal(find(f, "token-allowlisted", { token: DAI })!.status, "fail");
    assert.match(find(f, "token-allowlisted", { token: DAI })!.fix!, /npm run admin -- allow-token --chain 31337 --token DAI/);
    assert.equal(find(f, "token-allowlisted", { token: getAddress(fx.token) })!.status, "ok");
    assert.equal(find(f, "merchant-registered", { merchantId: "1" })!.status, "ok");
    assert.match(find(f, "merchant-registered", { merchantId: "2" })!.message, /not registered in the vault .*VaultUnknownMerchant/);
    assert.match(
      find(f, "merchant-registered", { merchantId: "2" })!.fix!,
      /npm run admin -- register-merchant --chain 31337 --merchant 2 \(registers signer .* and fee 50 bps/,
    );
    assert.match(find(f, "merchant-registered", { merchantId: "3" })!.fix!, /--merchant 3 --signer 0x…/);
    for (const check of ["rpc", "chain-id", "head", "vault-code", "store", "master-key"]) assert.equal(find(f, check)?.status, "ok", check);

    // the merchant view: merchant 2's own problem and the gateway-wide ones, not merchant 3's
    const view = await cli("doctor", ["--json", "--merchant", "2"]).catch((e: { stdout: string }) => e);
    const mine = (JSON.parse(view.stdout) as { findings: Finding[] }).findings;
    assert.ok(mine.every((x) => x.merchantId === undefined || x.merchantId === "2"));
    assert.ok(mine.some((x) => x.check === "token-allowlisted") && mine.some((x) => x.check === "merchant-registered"));

    // the fixes, as the findings name them
    const admin = { ADMIN_PRIVATE_KEY: ADMIN_KEY };
    await assert.rejects(
      cli("admin", ["allow-token", "--token", "DAI"]),
      /no key to send with: set ADMIN_PRIVATE_KEY .* or add --calldata/,
    );
    const refusedRole = await cli("admin", ["allow-token", "--token", "DAI"], { ADMIN_PRIVATE_KEY: keyOf(7) }).then(
      () => assert.fail("a key without the role must be refused"),
      (e: { stderr: string }) => e.stderr,
    );
    assert.match(
      refusedRole,
      /the vault refuses setTokenAllowed.* AccessControlUnauthorizedAccount\(.*\) \(it must be sent by: merchant-admin\)/,
    );
    await cli("admin", ["allow-token", "--chain", "31337", "--token", "DAI"], admin);
    await cli("admin", ["grant-role", "--role", "operator"], admin);
    await cli("admin", ["register-merchant", "--merchant", "2"], admin);
    await cli("admin", ["register-merchant", "--merchant", "3", "--signer", SIGNER], admin);
    await assert.rejects(cli("admin", ["register-merchant", "--merchant", "2"], admin), /merchant 2 is already registered on chain 31337/);

    // for a multisig: the call printed, not sent
    const printed = JSON.parse((await cli("admin", ["set-fee", "--merchant", "2", "--fee-bps", "25", "--calldata"])).stdout);
    assert.equal(getAddress(printed.to), getAddress(fx.vault));
    assert.equal(printed.value, "0");
    assert.deepEqual(decodeFunctionData({ abi: VAULT_ADMIN_ABI, data: printed.data }), { functionName: "setMerchantFee", args: [2n, 25] });

    writeFileSync(configFile, JSON.stringify(fileConfig({ operatorMinBalanceWei: "1000000000000000000" })));
    await node.rpc("evm_mine");
    const fixed = await cli("doctor", ["--verbose"]);
    assert.match(fixed.stdout, /^ok {3}merchant-registered \(chain 31337, merchant 3\)/m);
    assert.match(fixed.stdout, /all \d+ checks passed/);
  });

  it("the gateway refuses to start on the wrong chain or without a vault, in plain lines", async () => {
    writeFileSync(path.join(dir, "wrong-chain.json"), JSON.stringify({ ...fileConfig({ chainId: 1 }) }));
    const wrong = await run(process.execPath, ["--import", "tsx", "indexer/src/server.ts"], {
      env: { ...env, GATEWAY_CONFIG: path.join(dir, "wrong-chain.json") },
      cwd: ROOT,
    }).catch((e: { code: number; stderr: string }) => e);
    assert.equal((wrong as { code: number }).code, 1);
    assert.match(
      (wrong as { stderr: string }).stderr,
      /^gateway: the gateway refuses to start:\nFAIL chain-id \(chain 1\): the RPC serves chain 31337, but the config says 1[\s\S]*fix: point chains\[\]\.rpcUrl/,
    );
    assert.ok(!/\n\s+at /.test((wrong as { stderr: string }).stderr), "no stack trace");

    const config = resolveConfig({
      ...fileConfig({ vault: "0x000000000000000000000000000000000000dEaD" }),
      masterKey: randomBytes(32),
      pgliteDir: "memory://",
    });
    await assert.rejects(
      startGateway({ config, parts: { api: false } }),
      /FAIL vault-code \(chain 31337\): no contract at the vault address 0x000000000000000000000000000000000000dEaD[\s\S]*npm run deploy/,
    );
  });

  it("a stalled head or a frozen RPC turns /health 503 within the bound, and 200 again after", async () => {
    const proxy = await freezableProxy(node.url);
    let miner: NodeJS.Timeout | undefined;
    const mine = (on: boolean) => {
      clearInterval(miner);
      if (on) miner = setInterval(() => void node.rpc("evm_mine").catch(() => {}), 300);
    };
    const chain = { ...fileConfig().chains[0], rpcUrl: proxy.url, headStallSeconds: 3, operatorMinBalanceWei: "1" };
    const config: GatewayConfig = resolveConfig({
      masterKey: randomBytes(32),
      pgliteDir: "memory://",
      host: "127.0.0.1",
      port: 0,
      logLevel: "silent",
      operatorKey: OPERATOR_KEY,
      chains: [chain],
      doctor: { livenessIntervalSeconds: 1, setupIntervalSeconds: 30, rpcTimeoutMs: 500, webhookLagWarnSeconds: 300 },
    });
    mine(true);
    const gateway = await startGateway({ config, pollIntervalMs: 200 });
    try {
      const health = async () => {
        const res = await fetch(`${gateway.url}/health`);
        return { status: res.status, body: (await res.json()) as { doctor?: { problems: Finding[] } } };
      };
      await until("health 200 while blocks come", health, (h) => h.status === 200, 10_000);

      mine(false);
      const stalled = await until("health 503 on a stalled head", health, (h) => h.status === 503, 12_000);
      const head = stalled.value.body.doctor!.problems.find((p) => p.check === "head")!;
      assert.match(head.message, /the head has stayed at block \d+ for \d+ s \(limit headStallSeconds = 3\)/);
      assert.ok(head.fix && head.blocking);
      assert.ok(
        stalled.afterMs < 3_000 + 1_000 + 2_000 + 1_000,
        `503 within headStallSeconds + one check + slack (took ${stalled.afterMs} ms)`,
      );
      mine(true);
      await until("health 200 once blocks come again", health, (h) => h.status === 200, 10_000);

      proxy.freeze(true);
      const frozen = await until("health 503 on a frozen RPC", health, (h) => h.status === 503, 12_000);
      assert.match(
        frozen.value.body.doctor!.problems.find((p) => p.check === "rpc" || p.check === "head")!.message,
        /does not answer|has stayed at block/,
      );
      assert.ok(frozen.afterMs < 3_000 + 1_000 + 2_000 + 1_000, `503 within the bound (took ${frozen.afterMs} ms)`);
      proxy.freeze(false);
      await until("health 200 once the RPC answers again", health, (h) => h.status === 200, 15_000);

      const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
      for (const series of [
        "process_resident_memory_bytes",
        "nodejs_eventloop_lag_seconds",
        'gateway_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/health",status_code="200"}',
        'gateway_follower_head_lag_blocks{chain_id="31337"}',
        'gateway_chain_head_age_seconds{chain_id="31337"}',
        'gateway_operator_balance_wei{chain_id="31337"}',
        "gateway_webhook_backlog ",
        "gateway_webhook_oldest_due_seconds ",
        "# TYPE gateway_sweeps_total counter",
        "# TYPE gateway_payouts_total counter",
        'gateway_doctor_problems{status="fail",blocking="true"} 0',
        "gateway_healthy 1",
      ]) {
        assert.ok(metrics.includes(series), `/metrics has ${series}`);
      }
    } finally {
      mine(false);
      await gateway.stop();
      await proxy.close();
    }
  });

  it("checks the master key against the store and the roles by the vault's own constants", async () => {
    const config = loadConfig({ ...env, GATEWAY_MASTER_KEY: "22".repeat(32) });
    const db = await openGatewayStore(config, { who: "the test" });
    try {
      const report = await createDoctor({ config, db }).run();
      const key = find(report.findings, "master-key")!;
      assert.equal(key.status, "fail");
      assert.equal(key.blocking, true);
      assert.match(key.fix!, /GATEWAY_MASTER_KEY/);
      assert.equal(report.healthy, false);
    } finally {
      await db.close();
    }
    const role = await node.rpc<Hex>("eth_call", [{ to: fx.vault, data: toFunctionSelector("OPERATOR_ROLE()") }, "latest"]);
    assert.equal(role, VAULT_ROLES.operator);
  });
});
