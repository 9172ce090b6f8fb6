import { getAddress, isAddress } from "viem";
import { createSecretBox } from "../crypto/secretBox.js";
import { createMerchant } from "../store/merchants.js";
import { commandConfig, commandStore, fail, parseCommand, runCommand } from "./command.js";

/**
 * Creates a merchant in the gateway's store and prints its API key, API secret and webhook secret as JSON:
 * the only time the secrets are shown (they are stored sealed under the master key). It uses the store and
 * master key `npm start` uses and refuses to create either. Register the merchant in the vault afterwards:
 * `npm run admin -- register-merchant --chain <id> --merchant <id>` (`npm run doctor` says when it is missing).
 */
const NAME = "create-merchant";
const { values } = parseCommand({
  name: NAME,
  summary:
    "Creates a merchant and prints its apiKey, apiSecret and webhookSecret once (JSON). With --payout-key-mode gateway the gateway makes and keeps " +
    "the payout signer key and prints its address as payoutSigner. Then register it in the vault: npm run admin -- register-merchant --chain <id> --merchant <id>.",
  options: {
    name: { type: "string", description: "the merchant's display name (required)", placeholder: "name" },
    id: {
      type: "string",
      description: "the merchant id (default: the next free one); the same id is registered in the vault",
      placeholder: "id",
    },
    "fee-bps": { type: "string", description: "platform fee in basis points", default: "0", placeholder: "bps" },
    signer: { type: "string", description: "the merchant's payout signer address (merchant mode)", placeholder: "0x…" },
    "payout-key-mode": {
      type: "string",
      description: "merchant (the merchant signs payouts) or gateway (the gateway holds the key)",
      default: "merchant",
      placeholder: "mode",
    },
    "recharge-url": { type: "string", description: "where recharge webhooks go", placeholder: "https://…" },
  },
});
const name = values.name as string | undefined;
const id = values.id as string | undefined;
const fee = values["fee-bps"] as string;
const signer = values.signer as string | undefined;
const mode = values["payout-key-mode"] as string;
if (!name) fail(NAME, "--name is required (see --help)");
if (id !== undefined && !/^[1-9][0-9]{0,18}$/.test(id)) fail(NAME, `--id ${id}: expected a positive integer below 2^63`);
if (!/^[0-9]{1,5}$/.test(fee) || Number(fee) > 10_000) fail(NAME, `--fee-bps ${fee}: expected an integer 0..10000`);
if (signer !== undefined && !isAddress(signer)) fail(NAME, `--signer ${signer}: expected a 0x address`);
if (mode !== "merchant" && mode !== "gateway") fail(NAME, `--payout-key-mode ${mode}: expected merchant or gateway`);
if (mode === "gateway" && signer !== undefined)
  fail(NAME, "--signer cannot be given with --payout-key-mode gateway: the gateway makes the signer key");

await runCommand(NAME, async () => {
  const config = commandConfig(NAME);
  const db = await commandStore(NAME, config);
  try {
    if (id !== undefined && (await db.query("SELECT 1 FROM merchants WHERE id = $1", [id])).length)
      fail(NAME, `merchant ${id} already exists`);
    const m = await createMerchant(db, createSecretBox(config.masterKey), {
      id: id !== undefined ? BigInt(id) : undefined,
      name: name!,
      feeBps: Number(fee),
      payoutSigner: signer ?? null,
      payoutKeyMode: mode as "merchant" | "gateway",
      rechargeNotifyUrl: (values["recharge-url"] as string | undefined) ?? null,
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
    const chains = config.chains.map((c) => c.chainId).join(", ");
    process.stderr.write(
      `${NAME}: merchant ${m.merchantId} created. Register it in the vault on each chain (${chains}): npm run admin -- register-merchant --chain <id> --merchant ${m.merchantId}\n`,
    );
  } finally {
    await db.close();
  }
});
