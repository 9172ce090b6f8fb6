import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../src/config.js";

const dir = mkdtempSync(path.join(tmpdir(), "gw-config-"));
const KEY = "11".repeat(32);
const write = (name: string, v: unknown) => {
  const p = path.join(dir, name);
  writeFileSync(p, JSON.stringify(v));
  return p;
};
const chain = { chainId: 11155111, code: "sepolia", name: "Sepolia", confirmations: 12, tokens: [{ symbol: "ETH", address: "0x0000000000000000000000000000000000000000", decimals: 18 }] };

describe("config", () => {
  it("takes the vault and start block from a deployment file, the secrets from the environment", () => {
    const deployment = write("11155111.json", { chainId: 11155111, vault: "0x5fbdb2315678afecb367f032d93f642f64180aa3", blockNumber: 7_000_123 });
    const file = write("gw.json", { chains: [{ ...chain, deployment, rpcUrl: "https://rpc.example" }] });
    const c = loadConfig({ GATEWAY_CONFIG: file, GATEWAY_MASTER_KEY: KEY, OPERATOR_PRIVATE_KEY: "22".repeat(32) });
    assert.equal(c.chains[0]!.vault, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
    assert.equal(c.chains[0]!.startBlock, 7_000_123);
    assert.equal(c.operatorKey, `0x${"22".repeat(32)}`);
  });

  it("refuses a deployment file of another chain, a chain without a vault, and secrets in the file", () => {
    const other = write("1.json", { chainId: 1, vault: "0x5fbdb2315678afecb367f032d93f642f64180aa3" });
    assert.throws(() => loadConfig({ GATEWAY_CONFIG: write("a.json", { chains: [{ ...chain, deployment: other }] }), GATEWAY_MASTER_KEY: KEY }), /is for chain 1/);
    assert.throws(() => loadConfig({ GATEWAY_CONFIG: write("b.json", { chains: [chain] }), GATEWAY_MASTER_KEY: KEY }), /needs "vault" or "deployment"/);
    assert.throws(
      () => loadConfig({ GATEWAY_CONFIG: write("c.json", { operatorKey: `0x${"22".repeat(32)}`, chains: [] }), GATEWAY_MASTER_KEY: KEY }),
      (e: unknown) => e instanceof ConfigError && /OPERATOR_PRIVATE_KEY/.test((e as Error).message),
    );
    assert.throws(() => loadConfig({ GATEWAY_MASTER_KEY: KEY, OPERATOR_PRIVATE_KEY: "0x1234" }), /32 bytes of hex/);
  });
});
