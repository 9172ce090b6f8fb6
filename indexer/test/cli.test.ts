import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { loadConfig } from "../src/config.js";
import { findApiKey } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "gw-cli-"));
const env = { ...process.env, PGLITE_DIR: join(dir, "pglite"), GATEWAY_MASTER_KEY_FILE: join(dir, "master.key") };
const cli = (script: string, args: string[]) =>
  run(process.execPath, ["--import", "tsx", `indexer/src/cli/${script}.ts`, ...args], { env, cwd: process.cwd() });

describe("merchant CLI", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("creates a merchant, prints its secrets once, stores them sealed; rotation revokes the old key", async () => {
    const { stdout } = await cli("createMerchant", ["--name", "CLI Shop", "--id", "42", "--fee-bps", "50"]);
    const m = JSON.parse(stdout);
    assert.equal(m.merchantId, "42");
    assert.match(m.apiKey, /^pk_[0-9a-f]{24}$/);
    assert.match(m.apiSecret, /^sk_[0-9a-f]{64}$/);
    assert.match(m.webhookSecret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(statSync(env.GATEWAY_MASTER_KEY_FILE).mode & 0o777, 0o600);

    const rotated = JSON.parse((await cli("rotateApiKey", ["--merchant", "42", "--revoke-others"])).stdout);
    assert.notEqual(rotated.apiKey, m.apiKey);

    const config = loadConfig(env);
    const db = await openStore({ pgliteDir: config.pgliteDir });
    try {
      const box = createSecretBox(config.masterKey);
      const [row] = await db.query("SELECT secret_enc FROM merchant_api_keys WHERE key_id = $1", [rotated.apiKey]);
      assert.ok(!Buffer.from(row!.secret_enc).toString("latin1").includes(rotated.apiSecret), "secret not stored in clear");
      assert.equal((await findApiKey(db, box, rotated.apiKey))?.secret, rotated.apiSecret);
      assert.equal(await findApiKey(db, box, m.apiKey), null, "the old key is revoked");
    } finally {
      await db.close();
    }
    await assert.rejects(cli("createMerchant", ["--name", "Dup", "--id", "42"]), "a merchant id is used once");
    await assert.rejects(cli("createMerchant", []), /--name is required/);
  });
});
