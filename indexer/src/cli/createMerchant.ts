import { parseArgs } from "node:util";
import { getAddress, isAddress } from "viem";
import { loadConfig } from "../config.js";
import { createSecretBox } from "../crypto/secretBox.js";
import { createMerchant } from "../store/merchants.js";
import { openStore } from "../store/open.js";

/**
 * Creates a merchant and prints its API key, API secret and webhook secret as JSON: the only time the
 * secrets are shown (they are stored sealed under the master key). With `--payout-key-mode gateway` the
 * gateway generates and keeps the payout signer key (sealed, never printed) and prints its address as
 * `payoutSigner`: register that address as the merchant's signer in the vault.
 *
 *   npx tsx indexer/src/cli/createMerchant.ts --name "Shop" [--id 7] [--fee-bps 50] [--signer 0x…]
 *     [--payout-key-mode merchant|gateway] [--recharge-url https://…]
 */
const { values } = parseArgs({
  options: {
    name: { type: "string" },
    id: { type: "string" },
    "fee-bps": { type: "string" },
    signer: { type: "string" },
    "payout-key-mode": { type: "string" },
    "recharge-url": { type: "string" },
  },
});
const fail = (msg: string): never => {
  process.stderr.write(`create-merchant: ${msg}\n`);
  process.exit(2);
};
if (!values.name) fail("--name is required");
if (values.id !== undefined && !/^[1-9][0-9]{0,18}$/.test(values.id)) fail("--id must be a positive integer below 2^63");
const feeBps = values["fee-bps"] === undefined ? 0 : Number(values["fee-bps"]);
if (!Number.isInteger(feeBps) || feeBps < 0 || feeBps > 10000) fail("--fee-bps must be an integer 0..10000");
if (values.signer !== undefined && !isAddress(values.signer)) fail("--signer must be a 0x address");
const mode = values["payout-key-mode"] ?? "merchant";
if (mode !== "merchant" && mode !== "gateway") fail("--payout-key-mode must be merchant or gateway");
if (mode === "gateway" && values.signer !== undefined) fail("--signer cannot be given with --payout-key-mode gateway: the gateway makes the signer key");

const config = loadConfig();
const db = await openStore({ databaseUrl: config.databaseUrl, pgliteDir: config.pgliteDir });
try {
  const m = await createMerchant(db, createSecretBox(config.masterKey), {
    id: values.id ? BigInt(values.id) : undefined,
    name: values.name!,
    feeBps,
    payoutSigner: values.signer ?? null,
    payoutKeyMode: mode as "merchant" | "gateway",
    rechargeNotifyUrl: values["recharge-url"] ?? null,
  });
  process.stdout.write(
    JSON.stringify(
      {
        merchantId: m.merchantId.toString(),
        apiKey: m.apiKey,
        apiSecret: m.apiSecret,
        webhookSecret: m.webhookSecret,
        payoutKeyMode: m.payoutKeyMode,
        payoutSigner: m.payoutSigner ? getAddress(m.payoutSigner) : null,
      },
      null,
      2,
    ) + "\n",
  );
} finally {
  await db.close();
}
