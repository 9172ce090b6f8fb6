import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { ConfigError, loadConfig, resolveConfig } from "../src/config.js";

const dir = mkdtempSync(path.join(tmpdir(), "gw-config-"));
const KEY = "11".repeat(32);
const write = (name: string, v: unknown) => {
  const p = path.join(dir, name);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, JSON.stringify(v));
  return p;
};
const VAULT = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const chain = {
  chainId: 11155111,
  code: "sepolia",
  name: "Sepolia",
  confirmations: 12,
  tokens: [{ symbol: "ETH", address: "0x0000000000000000000000000000000000000000", decimals: 18 }],
};
/** The message of the ConfigError `fn` throws (the test fails if it throws anything else or nothing). */
const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${(e as Error).stack}`);
    return e.message;
  }
  assert.fail("expected the config to be refused");
};
const load = (file: unknown, env: Record<string, string> = {}) =>
  loadConfig({ GATEWAY_CONFIG: write(`c-${Math.random()}.json`, file), GATEWAY_MASTER_KEY: KEY, ...env });

describe("config", () => {
  it("takes the vault and start block from a deployment file named relative to the config file, the secrets from the environment", () => {
    write("conf/deployments/11155111.json", { chainId: 11155111, vault: VAULT, blockNumber: 7_000_123 });
    const file = write("conf/gw.json", { chains: [{ ...chain, deployment: "deployments/11155111.json", rpcUrl: "https://rpc.example" }] });
    const c = loadConfig({ GATEWAY_CONFIG: file, GATEWAY_MASTER_KEY: KEY, OPERATOR_PRIVATE_KEY: "22".repeat(32) });
    assert.equal(c.chains[0]!.vault, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
    assert.equal(c.chains[0]!.startBlock, 7_000_123);
    assert.equal(c.chains[0]!.deployment, path.join(dir, "conf/deployments/11155111.json"));
    assert.equal(c.operatorKey, `0x${"22".repeat(32)}`);
    assert.equal(c.pgliteDir, path.join(dir, "conf/.data/pglite"), "data directories resolve from the config file's folder too");
    assert.equal(c.configFile, file);
  });

  it("names an unknown key with the key it probably meant, and a wrong type with what to write", () => {
    const msg = refusal(() => load({ orderTtlSeconds: "30m", chains: [{ ...chain, vault: VAULT, confirmation: 2 }] }));
    assert.match(msg, /^ {2}chains\[0\]\.confirmation: unknown key; did you mean "confirmations"\?$/m);
    assert.match(msg, /^ {2}orderTtlSeconds: expected a number of seconds, got "30m"$/m);
    assert.match(msg, /2 problems/);
    assert.match(
      refusal(() => load({ chains: [{ ...chain, vault: VAULT, tokens: [{ symbol: "USDC", address: "0x1234", decimals: 6 }] }] })),
      /chains\[0\]\.tokens\[0\]\.address: expected a 0x address \(40 hex digits\), got "0x1234"/,
    );
    assert.match(
      refusal(() => load({ chains: [{ ...chain, vault: VAULT, finality: "safe" }] })),
      /chains\[0\]\.finality: expected "depth" or "finalized", got "safe"/,
    );
    assert.match(
      refusal(() => load({ chains: [{ ...chain, vault: VAULT }], prot: 8080 })),
      /prot: unknown key; did you mean "port"\?/,
    );
  });

  it("names the environment variable when the bad value came from there", () => {
    assert.match(
      refusal(() => load({ chains: [{ ...chain, vault: VAULT }] }, { PORT: "eighty" })),
      /PORT \(environment\): expected a port number, got "eighty"/,
    );
    assert.match(
      refusal(() => load({ chains: [{ ...chain, vault: VAULT }] }, { LOG_LEVEL: "loud" })),
      /LOG_LEVEL \(environment\): expected one of fatal, error/,
    );
  });

  it("has no implicit chain and no zero vault", () => {
    assert.match(
      refusal(() => loadConfig({ GATEWAY_MASTER_KEY: KEY })),
      /GATEWAY_CONFIG is not set.*config\/gateway\.example\.json/,
    );
    assert.match(
      refusal(() => load({})),
      /chains: required/,
    );
    assert.match(
      refusal(() => load({ chains: [] })),
      /chains: expected at least one chain/,
    );
    assert.match(
      refusal(() => load({ chains: [{ ...chain, vault: "0x0000000000000000000000000000000000000000" }] })),
      /chains\[0\]\.vault: the zero address is not a vault: deploy one/,
    );
    assert.match(
      refusal(() => load({ chains: [chain] })),
      /chains\[0\]\.vault: required: set "vault" .* or "deployment"/,
    );
    assert.match(
      refusal(() => load({ chains: [{ ...chain, vault: VAULT, confirmations: undefined }] })),
      /chains\[0\]\.confirmations: required/,
    );
  });

  it("refuses a deployment file of another chain, a missing one, duplicates and secrets in the file", () => {
    const other = write("1.json", { chainId: 1, vault: VAULT });
    assert.match(
      refusal(() => load({ chains: [{ ...chain, deployment: other }] })),
      /is for chain 1, not 11155111/,
    );
    assert.match(
      refusal(() => load({ chains: [{ ...chain, deployment: "nowhere/11155111.json" }] })),
      /chains\[0\]\.deployment: cannot read .*nowhere\/11155111\.json.*npm run deploy/,
    );
    assert.match(
      refusal(() =>
        load({
          chains: [
            { ...chain, vault: VAULT },
            { ...chain, vault: VAULT, code: "other" },
          ],
        }),
      ),
      /chains\[1\]\.chainId: chain 11155111 is configured twice/,
    );
    assert.match(
      refusal(() => load({ operatorKey: `0x${"22".repeat(32)}`, chains: [] })),
      /"operatorKey" is a secret .* set OPERATOR_PRIVATE_KEY instead/,
    );
    assert.match(
      refusal(() => load({ chains: [{ ...chain, vault: VAULT }] }, { OPERATOR_PRIVATE_KEY: "0x1234" })),
      /32 bytes of hex/,
    );
    assert.match(
      refusal(() => loadConfig({ GATEWAY_CONFIG: path.join(dir, "missing.json"), GATEWAY_MASTER_KEY: KEY })),
      /missing\.json: no such file/,
    );
  });

  it("payPageUrl follows HOST and PORT unless it is set", () => {
    assert.equal(load({ chains: [{ ...chain, vault: VAULT }] }, { PORT: "9090" }).payPageUrl, "http://127.0.0.1:9090/pay");
    assert.equal(load({ host: "0.0.0.0", port: 8181, chains: [{ ...chain, vault: VAULT }] }).payPageUrl, "http://localhost:8181/pay");
    assert.equal(
      load({ payPageUrl: "https://pay.example.com/pay", chains: [{ ...chain, vault: VAULT }] }, { PORT: "9090" }).payPageUrl,
      "https://pay.example.com/pay",
    );
    assert.equal(
      resolveConfig({ masterKey: Buffer.alloc(32, 1), port: 7000, chains: [{ ...chain, vault: VAULT }] }).payPageUrl,
      "http://127.0.0.1:7000/pay",
    );
  });

  it("does not create a master key unless asked (only npm start does, on a first start)", () => {
    const file = write("k/gw.json", { chains: [{ ...chain, vault: VAULT }] });
    assert.match(
      refusal(() => loadConfig({ GATEWAY_CONFIG: file })),
      /no master key: GATEWAY_MASTER_KEY is unset and .*k\/\.data\/master\.key does not exist/,
    );
    assert.equal(existsSync(path.join(dir, "k/.data/master.key")), false);
    const c = loadConfig({ GATEWAY_CONFIG: file }, { createMasterKey: true });
    assert.equal(c.masterKey.length, 32);
    assert.deepEqual(loadConfig({ GATEWAY_CONFIG: file }).masterKey, c.masterKey, "the next load reads the same key");
  });

  it("accepts the example config (comments included) once its deployment files exist", () => {
    const example = path.resolve(import.meta.dirname, "../../config/gateway.example.json");
    assert.match(
      refusal(() => loadConfig({ GATEWAY_CONFIG: example, GATEWAY_MASTER_KEY: KEY })),
      /chains\[0\]\.deployment: cannot read .*deployments\/11155111\.json/,
    );
  });
});
