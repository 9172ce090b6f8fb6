import { createSecretBox } from "../crypto/secretBox.js";
import { rotateApiKey } from "../store/merchants.js";
import { commandConfig, commandStore, fail, parseCommand, runCommand } from "./command.js";

/**
 * Issues a new API key and secret for a merchant and prints them as JSON. With --revoke-others the
 * merchant's other keys stop working (within the API's 30 s key cache).
 */
const NAME = "rotate-api-key";
const { values } = parseCommand({
  name: NAME,
  summary:
    "Issues a new API key and secret for a merchant and prints them once (JSON). --revoke-others stops the merchant's other keys (within 30 s).",
  options: {
    merchant: { type: "string", description: "the merchant id (required)", placeholder: "id" },
    "revoke-others": { type: "boolean", description: "revoke the merchant's other keys", default: false },
  },
});
const merchant = values.merchant as string | undefined;
if (!merchant || !/^[1-9][0-9]{0,18}$/.test(merchant)) fail(NAME, "--merchant <id> is required (a positive integer)");

await runCommand(NAME, async () => {
  const config = commandConfig(NAME);
  const db = await commandStore(NAME, config);
  try {
    if (!(await db.query("SELECT 1 FROM merchants WHERE id = $1", [merchant])).length) fail(NAME, `merchant ${merchant} does not exist`);
    const k = await rotateApiKey(db, createSecretBox(config.masterKey), BigInt(merchant!), {
      revokeOthers: values["revoke-others"] === true,
    });
    process.stdout.write(JSON.stringify({ merchantId: merchant, ...k }, null, 2) + "\n");
  } finally {
    await db.close();
  }
});
