/**
 * `npm run local` as an integrator uses it: boot it, read its JSON, pay an order through it and see
 * success, then stop it with SIGTERM and see that nothing it started is left running.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { createPublicClient, createWalletClient, http, parseAbi, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createFiatOrder, createOrder, orderState, type StackFile } from "../../scripts/lib/localStackClient.js";
import { freePort } from "./chainHarness.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

type Stack = StackFile & {
  rpcUrl: string;
  confirmations: number;
  contracts: Record<string, Address>;
  tokens: { symbol: string; address: Address; decimals: number }[];
  merchant: { id: string; apiKey: string; apiSecret: string; webhookSecret: string; payoutSigner: Address; payoutSignerKey: Hex };
  payer: { address: Address; privateKey: Hex };
  env: Record<string, string>;
  pids: { stack: number; node: number; gateway: number };
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("npm run local", { timeout: 300_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), "gw-local-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("brings up a payable gateway, writes its JSON, takes a payment to success and stops everything on SIGTERM", async () => {
    const [port, rpcPort] = [await freePort(), await freePort()];
    const out = path.join(dir, "stack.json");
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "scripts/local.ts",
        "--port",
        String(port),
        "--rpc-port",
        String(rpcPort),
        "--dir",
        path.join(dir, "local"),
        "--out",
        out,
      ],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      const started = Date.now();
      while (!existsSync(out)) {
        if (child.exitCode !== null) assert.fail(`npm run local exited ${child.exitCode}:\n${output}`);
        if (Date.now() - started > 240_000) assert.fail(`no ${out} after 240 s:\n${output}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const stack = JSON.parse(readFileSync(out, "utf8")) as Stack;
      console.log(`# npm run local was ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      assert.equal(stack.gatewayUrl, `http://127.0.0.1:${port}`);
      assert.equal(stack.rpcUrl, `http://127.0.0.1:${rpcPort}`);
      assert.deepEqual(
        stack.tokens.map((t) => t.symbol),
        ["USDT", "USDC", "ETH"],
      );
      assert.match(stack.merchant.apiSecret, /^sk_/);
      assert.match(stack.merchant.webhookSecret, /^whsec_/);
      assert.match(output, new RegExp(`API key +${stack.merchant.apiKey}`), "the keys are printed");

      const health = await fetch(`${stack.gatewayUrl}/health`);
      const body = (await health.json()) as { doctor: { ok: boolean; problems: { check: string; status: string }[] } };
      assert.equal(health.status, 200);
      assert.deepEqual(
        body.doctor.problems.filter((p) => p.status === "fail"),
        [],
        "the doctor finds nothing failing: registered, allowlisted, funded",
      );

      const usdt = stack.tokens.find((t) => t.symbol === "USDT")!;
      const payer = createWalletClient({ account: privateKeyToAccount(stack.payer.privateKey), transport: http(stack.rpcUrl) });
      const payUsdt = async (to: string, amount: bigint) => {
        const hash = await payer.writeContract({
          address: usdt.address,
          abi: parseAbi(["function transfer(address to, uint256 amount)"]),
          functionName: "transfer",
          args: [to as Address, amount],
          chain: null,
        });
        const receipt = await createPublicClient({ transport: http(stack.rpcUrl) }).waitForTransactionReceipt({ hash });
        assert.equal(receipt.status, "success");
      };
      const paidInTime = async (id: string) => {
        const deadline = Date.now() + 60_000;
        let state = await orderState(stack, id);
        while (state.state !== 4 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 250));
          state = await orderState(stack, id);
        }
        return state.state;
      };

      const order = await createOrder(stack, { reference: "LOCAL-1", token: "USDT", amount: "12.5", notifyUrl: "http://127.0.0.1:9/hook" });
      assert.equal(order.amountBaseUnits, 12_500_000n);
      await payUsdt(order.depositAddress, order.amountBaseUnits);
      assert.equal(await paidInTime(order.id), 4, "the order reached success");

      // the stack deploys mock price feeds: a USD-priced order is priced in the pegged USDT, a CNY one through CNY/USD
      assert.ok(stack.contracts.ethUsdFeed && stack.contracts.usdtUsdFeed && stack.contracts.cnyUsdFeed, "the feeds are in the JSON");
      const fiat = await createFiatOrder(stack, {
        reference: "LOCAL-USD-1",
        currency: "USD",
        amount: "12.50",
        notifyUrl: "http://127.0.0.1:9/hook",
      });
      assert.equal(fiat.symbol, "USDT");
      assert.equal(fiat.amountBaseUnits, 12_500_000n);
      assert.equal(fiat.exchangeRate, "1");
      assert.ok(fiat.rateLockedUntil);
      const cny = await createFiatOrder(stack, {
        reference: "LOCAL-CNY-1",
        currency: "CNY",
        amount: "100",
        notifyUrl: "http://127.0.0.1:9/hook",
      });
      assert.equal(cny.amountBaseUnits, 14_000_000n, "100 CNY at 0.14 USD is 14 USDT");
      await payUsdt(fiat.depositAddress, fiat.amountBaseUnits);
      assert.equal(await paidInTime(fiat.id), 4, "the USD-priced order reached success");

      child.kill("SIGTERM");
      assert.equal(await exited, 0);
      assert.ok(!alive(stack.pids.gateway), "the gateway stopped");
      assert.ok(!alive(stack.pids.node), "the node stopped");
      await assert.rejects(fetch(`${stack.gatewayUrl}/health`));
      await assert.rejects(fetch(stack.rpcUrl, { method: "POST", body: "{}" }));
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
