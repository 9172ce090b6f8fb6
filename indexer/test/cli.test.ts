import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { loadConfig } from "../src/config.js";
import { openGatewayStore } from "../src/runtime/store.js";
import { findApiKey } from "../src/store/merchants.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "gw-cli-"));
const configFile = join(dir, "gateway.json");
writeFileSync(
  configFile,
  JSON.stringify({
    pgliteDir: "pglite",
    masterKeyFile: "master.key",
    chains: [
      {
        chainId: 31337,
        code: "local",
        name: "Hardhat",
        vault: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        rpcUrl: "http://127.0.0.1:9",
        confirmations: 1,
        tokens: [{ symbol: "ETH", address: "0x0000000000000000000000000000000000000000", decimals: 18 }],
      },
    ],
  }),
);
/** The gateway's environment as `npm start` would have it: the config file names the store and the key file. */
const env: NodeJS.ProcessEnv = { ...process.env, GATEWAY_CONFIG: configFile };
for (const k of [
  "DATABASE_URL",
  "PGLITE_DIR",
  "GATEWAY_MASTER_KEY",
  "GATEWAY_MASTER_KEY_FILE",
  "OPERATOR_PRIVATE_KEY",
  "OPERATOR_KEY_FILE",
])
  delete env[k];
const cli = (script: string, args: string[]) =>
  run(process.execPath, ["--import", "tsx", `indexer/src/cli/${script}.ts`, ...args], { env, cwd: process.cwd() });
/** A command's refusal: exit 2 and its stderr (which must be one short line unless a config lists problems). */
async function refused(script: string, args: string[]): Promise<string> {
  try {
    await cli(script, args);
  } catch (e) {
    const err = e as { code: number; stderr: string };
    assert.equal(err.code, 2, `exit status of ${script} ${args.join(" ")}: ${err.stderr}`);
    return err.stderr;
  }
  assert.fail(`${script} ${args.join(" ")} should have been refused`);
}
const oneLine = (s: string) => {
  assert.equal(s.trim().split("\n").length, 1, `one line expected, got:\n${s}`);
  assert.ok(s.length < 500, `a short line expected, got ${s.length} characters`);
  return s.trim();
};

describe("operator commands", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("every command answers --help and refuses wrong arguments in one line", async () => {
    for (const [script, name] of [
      ["createMerchant", "create-merchant"],
      ["rotateApiKey", "rotate-api-key"],
      ["bill", "bill"],
      ["reconcile", "reconcile"],
      ["doctor", "doctor"],
      ["admin", "admin"],
    ] as const) {
      const { stdout } = await cli(script, ["--help"]);
      assert.match(stdout, new RegExp(`^usage: npm run ${name} --`), script);
    }
    assert.match(
      (await cli("admin", ["register-merchant", "--help"])).stdout,
      /^usage: npm run admin -- register-merchant \[options\][\s\S]*--calldata/,
    );
    assert.match(
      oneLine(await refused("rotateApiKey", ["--merchnt", "1"])),
      /^rotate-api-key: unknown option --merchnt; did you mean --merchant\? \(see --help\)$/,
    );
    assert.match(oneLine(await refused("bill", ["--merchant", "x"])), /^bill: --merchant <id> is required/);
    assert.match(oneLine(await refused("reconcile", ["extra"])), /^reconcile: unexpected argument "extra"/);
    assert.match(oneLine(await refused("admin", ["register-merchnt"])), /^admin: unknown command "register-merchnt"/);
    assert.match(
      oneLine(await refused("admin", ["grant-role", "--role", "owner"])),
      /--role owner: expected one of admin, merchant-admin, operator, pauser/,
    );
  });

  it("createMerchant without the gateway's store or key refuses and creates neither", async () => {
    assert.match(oneLine(await refused("createMerchant", ["--name", "Early"])), /no master key: .*master\.key does not exist/);
    assert.equal(existsSync(join(dir, "master.key")), false, "no master key made");
    loadConfig(env, { createMasterKey: true }); // what npm start's first start does
    assert.match(oneLine(await refused("createMerchant", ["--name", "Early"])), /there is no gateway store at .*pglite/);
    assert.equal(existsSync(join(dir, "pglite")), false, "no second store made");
  });

  it("creates a merchant in the gateway's store, prints its secrets once, stores them sealed; rotation revokes the old key", async () => {
    const config = loadConfig(env);
    await (await openGatewayStore(config, { who: "the gateway" })).close(); // the gateway's first start made the store

    const { stdout, stderr } = await cli("createMerchant", ["--name", "CLI Shop", "--id", "42", "--fee-bps", "50"]);
    const m = JSON.parse(stdout);
    assert.equal(m.merchantId, "42");
    assert.match(m.apiKey, /^pk_[0-9a-f]{24}$/);
    assert.match(m.apiSecret, /^sk_[0-9a-f]{64}$/);
    assert.match(m.webhookSecret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.match(stderr, /npm run admin -- register-merchant --chain <id> --merchant 42/);
    assert.equal(statSync(join(dir, "master.key")).mode & 0o777, 0o600);

    const rotated = JSON.parse((await cli("rotateApiKey", ["--merchant", "42", "--revoke-others"])).stdout);
    assert.notEqual(rotated.apiKey, m.apiKey);

    const db = await openGatewayStore(config, { who: "the test" });
    try {
      const box = createSecretBox(config.masterKey);
      const [row] = await db.query("SELECT secret_enc FROM merchant_api_keys WHERE key_id = $1", [rotated.apiKey]);
      assert.ok(!Buffer.from(row!.secret_enc).toString("latin1").includes(rotated.apiSecret), "secret not stored in clear");
      assert.equal((await findApiKey(db, box, rotated.apiKey))?.secret, rotated.apiSecret);
      assert.equal(await findApiKey(db, box, m.apiKey), null, "the old key is revoked");

      // while a process (here: this test, as a running gateway would) holds the PGlite store, commands say so in one line
      for (const [script, args] of [
        ["createMerchant", ["--name", "Second"]],
        ["reconcile", []],
        ["bill", ["--merchant", "42", "--from", "2026-01-01", "--to", "2026-01-02"]],
      ] as const) {
        const line = oneLine(await refused(script, [...args]));
        assert.match(
          line,
          new RegExp(`the test \\(pid ${process.pid}, since .*\\) holds the PGlite store .*pglite, and PGlite serves one process`),
          script,
        );
      }
      assert.equal((await db.query("SELECT count(*)::int AS n FROM merchants"))[0]!.n, 1, "nothing was created meanwhile");
    } finally {
      await db.close();
    }
    await assert.rejects(cli("createMerchant", ["--name", "Dup", "--id", "42"]), /merchant 42 already exists/);
    await assert.rejects(cli("createMerchant", []), /--name is required/);
  });
});
