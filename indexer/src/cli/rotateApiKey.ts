import { parseArgs } from "node:util";
import { loadConfig } from "../config.js";
import { createSecretBox } from "../crypto/secretBox.js";
import { rotateApiKey } from "../store/merchants.js";
import { openStore } from "../store/open.js";

/**
 * Issues a new API key and secret for a merchant and prints them as JSON. With --revoke-others the
 * merchant's other keys stop working (within the API's 30 s key cache).
 *
 *   npx tsx indexer/src/cli/rotateApiKey.ts --merchant 1 [--revoke-others]
 */
const { values } = parseArgs({
  options: { merchant: { type: "string" }, "revoke-others": { type: "boolean", default: false } },
});
if (!values.merchant || !/^[1-9][0-9]{0,18}$/.test(values.merchant)) {
  process.stderr.write("rotate-api-key: --merchant <id> is required\n");
  process.exit(2);
}
const config = loadConfig();
const db = await openStore({ databaseUrl: config.databaseUrl, pgliteDir: config.pgliteDir });
try {
  const [m] = await db.query("SELECT 1 FROM merchants WHERE id = $1", [values.merchant]);
  if (!m) {
    process.stderr.write(`rotate-api-key: merchant ${values.merchant} does not exist\n`);
    process.exitCode = 2;
  } else {
    const k = await rotateApiKey(db, createSecretBox(config.masterKey), BigInt(values.merchant), {
      revokeOthers: values["revoke-others"]!,
    });
    process.stdout.write(JSON.stringify({ merchantId: values.merchant, ...k }, null, 2) + "\n");
  }
} finally {
  await db.close();
}
