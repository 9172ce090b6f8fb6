import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { getAddress, isAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { ChainConfig, GatewayConfig } from "../config.js";
import {
  adminClient,
  grantRoleCall,
  readMerchant,
  registerMerchantCall,
  sendAdminCall,
  setMerchantFeeCall,
  setMerchantSignerCall,
  setTokenAllowedCall,
  VAULT_ROLES,
  type AdminCall,
  type VaultRole,
} from "../doctor/index.js";
import { StoreUnavailableError, openGatewayStore } from "../runtime/store.js";
import type { Db } from "../store/db.js";
import { getMerchantChainSettings, setMerchantFeeBps, setPayoutSignerIfUnset } from "../store/merchants.js";
import { commandConfig, fail, helpText, parseCommand, runCommand, type CommandSpec, type OptionSpec } from "./command.js";

/**
 * `npm run admin -- <command>`: what only the chain can do, the fixes `npm run doctor` names. Each call is
 * either sent with an admin key (ADMIN_PRIVATE_KEY, ADMIN_KEY_FILE or `--keystore NAME` from Hardhat's
 * keystore) or, with `--calldata`, printed as JSON (`to`, `value`, `data`) for a multisig. Values default to
 * what the gateway's store holds, so the vault ends up agreeing with the store.
 */
const common: Record<string, OptionSpec> = {
  chain: { type: "string", description: "the chain id (default: the only configured chain)", placeholder: "id" },
  calldata: { type: "boolean", description: "print the call as JSON for a multisig instead of sending it", default: false },
  keystore: {
    type: "string",
    description: "take the sender's key from Hardhat's keystore entry NAME (asks its password)",
    placeholder: "NAME",
  },
};
const merchantOption: OptionSpec = { type: "string", description: "the merchant id (required)", placeholder: "id" };

const COMMANDS = {
  "register-merchant": {
    summary: "Registers a merchant in the vault with the payout signer and fee the store holds (MERCHANT_ADMIN_ROLE).",
    options: {
      merchant: merchantOption,
      signer: {
        type: "string",
        description: "the payout signer, when the store has none yet (it is then recorded in the store)",
        placeholder: "0x…",
      },
      "fee-bps": { type: "string", description: "must equal the store's fee (use set-fee to change a fee)", placeholder: "bps" },
      ...common,
    },
  },
  "set-fee": {
    summary: "Sets the vault's fee of a merchant to the store's; with --fee-bps, changes the store's fee too (MERCHANT_ADMIN_ROLE).",
    options: {
      merchant: merchantOption,
      "fee-bps": { type: "string", description: "the new fee in basis points", placeholder: "bps" },
      ...common,
    },
  },
  "allow-token": {
    summary: "Adds a configured token to the vault's sweep allowlist, or removes it with --disallow (MERCHANT_ADMIN_ROLE).",
    options: {
      token: { type: "string", description: "a configured token's symbol or address (required)", placeholder: "symbol" },
      disallow: { type: "boolean", description: "remove it instead", default: false },
      ...common,
    },
  },
  "grant-role": {
    summary: "Grants (or with --revoke, revokes) a vault role: operator, merchant-admin, pauser or admin (DEFAULT_ADMIN_ROLE).",
    options: {
      role: { type: "string", description: "operator | merchant-admin | pauser | admin (required)", placeholder: "role" },
      account: {
        type: "string",
        description: "who gets it (default for operator: the configured operator key's address)",
        placeholder: "0x…",
      },
      revoke: { type: "boolean", description: "revoke instead", default: false },
      ...common,
    },
  },
  "set-signer": {
    summary:
      "Prints the call that hands a merchant's payout authority to the store's signer; only the merchant's current signer can send it.",
    options: {
      merchant: merchantOption,
      signer: { type: "string", description: "the new signer (default: the store's)", placeholder: "0x…" },
      ...common,
    },
  },
} satisfies Record<string, Omit<CommandSpec, "name">>;
type CommandName = keyof typeof COMMANDS;

const argv = process.argv.slice(2);
const sub = argv[0];
const TOP = "admin";
if (!sub || sub === "--help" || sub === "-h") {
  const lines = [
    `usage: npm run admin -- <command> [options]    (npm run admin -- <command> --help for its options)`,
    "",
    "What only the chain can do: the fixes `npm run doctor` names. A call is sent with ADMIN_PRIVATE_KEY (or ADMIN_KEY_FILE, or --keystore NAME",
    "from Hardhat's keystore) or, with --calldata, printed as JSON (to, value, data) for a multisig.",
    "",
    "commands:",
    ...Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(20)} ${c.summary}`),
  ];
  if (!sub) fail(TOP, `a command is required: ${Object.keys(COMMANDS).join(", ")} (see --help)`);
  process.stdout.write(lines.join("\n") + "\n");
  process.exit(0);
}
if (!(sub in COMMANDS)) fail(TOP, `unknown command "${sub}": use one of ${Object.keys(COMMANDS).join(", ")}`);
const NAME = `admin ${sub}`;
const spec = { name: NAME, ...COMMANDS[sub as CommandName] } as CommandSpec;
if (argv.includes("--help")) {
  process.stdout.write(helpText(spec) + "\n");
  process.exit(0);
}
const { values } = parseCommand(spec, argv.slice(1));
const str = (k: string) => values[k] as string | undefined;

const idArg = (k: string): bigint => {
  const v = str(k);
  if (!v || !/^[1-9][0-9]{0,18}$/.test(v)) fail(NAME, `--${k} <id> is required (a positive integer)`);
  return BigInt(v!);
};
const addressArg = (k: string): Address | undefined => {
  const v = str(k);
  if (v === undefined) return undefined;
  if (!isAddress(v)) fail(NAME, `--${k} ${v}: expected a 0x address`);
  return getAddress(v);
};
const feeArg = (): number | undefined => {
  const v = str("fee-bps");
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,5}$/.test(v) || Number(v) > 10_000) fail(NAME, `--fee-bps ${v}: expected an integer 0..10000`);
  return Number(v);
};

function chainOf(config: GatewayConfig): ChainConfig {
  const want = str("chain");
  if (want === undefined) {
    if (config.chains.length === 1) return config.chains[0]!;
    fail(NAME, `--chain <id> is required: configured chains are ${config.chains.map((c) => c.chainId).join(", ")}`);
  }
  const c = config.chains.find((x) => String(x.chainId) === want);
  if (!c) fail(NAME, `chain ${want} is not configured (configured: ${config.chains.map((x) => x.chainId).join(", ")})`);
  return c!;
}

/** The sender's key: ADMIN_PRIVATE_KEY, ADMIN_KEY_FILE, or an entry of Hardhat's keystore. */
function adminKey(): Hex {
  let raw = process.env.ADMIN_PRIVATE_KEY;
  if (!raw && process.env.ADMIN_KEY_FILE) raw = readFileSync(process.env.ADMIN_KEY_FILE, "utf8").trim();
  const entry = str("keystore");
  if (!raw && entry) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(entry))
      fail(NAME, `--keystore ${entry}: expected a keystore entry name such as ADMIN_PRIVATE_KEY`);
    process.stderr.write(`${NAME}: reading ${entry} from Hardhat's keystore (npx hardhat keystore get ${entry})\n`);
    const r = spawnSync("npx", ["hardhat", "keystore", "get", entry], { stdio: ["inherit", "pipe", "inherit"], encoding: "utf8" });
    raw = r.stdout
      ?.split("\n")
      .map((l) => l.trim())
      .reverse()
      .find((l) => /^(0x)?[0-9a-fA-F]{64}$/.test(l));
    if (!raw) fail(NAME, `Hardhat's keystore gave no private key for ${entry} (set it with: npx hardhat keystore set ${entry})`);
  }
  if (!raw)
    fail(
      NAME,
      "no key to send with: set ADMIN_PRIVATE_KEY (or ADMIN_KEY_FILE), use --keystore NAME, or add --calldata to print the call for a multisig",
    );
  const hex = (raw!.startsWith("0x") ? raw! : `0x${raw}`) as Hex;
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) fail(NAME, "the admin key must be 32 bytes of hex (64 characters, 0x optional)");
  return hex;
}

/** The store, or undefined with the reason when a running PGlite gateway holds it. */
async function openStore(config: GatewayConfig): Promise<{ db?: Db; why?: string }> {
  try {
    return { db: await openGatewayStore(config, { who: NAME, mustExist: true }) };
  } catch (e) {
    if (e instanceof StoreUnavailableError) return { why: e.shortMessage };
    throw e;
  }
}

async function deliver(chain: ChainConfig, c: AdminCall) {
  if (values.calldata) {
    process.stdout.write(JSON.stringify(c, null, 2) + "\n");
    return;
  }
  const r = await sendAdminCall(chain, c, adminKey(), (line) => process.stderr.write(`${NAME}: ${line}\n`));
  process.stdout.write(JSON.stringify({ ...c, txHash: r.hash, blockNumber: r.blockNumber.toString(), from: r.from }, null, 2) + "\n");
}

// the arguments are checked before the config is read, so a typo is refused at once
const role = str("role") as VaultRole | undefined;
if (sub === "grant-role" && (!role || !(role in VAULT_ROLES)))
  fail(NAME, `--role ${role ?? "<role>"}: expected one of ${Object.keys(VAULT_ROLES).join(", ")}`);
if (sub === "allow-token" && !str("token")) fail(NAME, "--token <symbol|address> is required");
const merchantId = sub === "register-merchant" || sub === "set-fee" || sub === "set-signer" ? idArg("merchant") : 0n;
const fee = feeArg();
const signer = addressArg("signer");
const account = addressArg("account");

await runCommand(NAME, async () => {
  const config = commandConfig(NAME);
  const chain = chainOf(config);
  const command = sub as CommandName;

  if (command === "allow-token") {
    const t = str("token");
    const token = chain.tokens.find((x) => x.symbol.toUpperCase() === t!.toUpperCase() || x.address.toLowerCase() === t!.toLowerCase());
    if (!token)
      fail(NAME, `token ${t} is not configured on chain ${chain.chainId} (configured: ${chain.tokens.map((x) => x.symbol).join(", ")})`);
    return deliver(chain, setTokenAllowedCall(chain, token!.address, !values.disallow));
  }

  if (command === "grant-role") {
    const to = account ?? (role === "operator" && config.operatorKey ? privateKeyToAccount(config.operatorKey).address : undefined);
    if (!to)
      fail(
        NAME,
        "--account <0x…> is required" + (role === "operator" ? " (or set OPERATOR_PRIVATE_KEY so the operator's address is known)" : ""),
      );
    return deliver(chain, grantRoleCall(chain, role!, to!, values.revoke === true));
  }

  const { db, why } = await openStore(config);
  try {
    const stored = db ? await getMerchantChainSettings(db, merchantId) : undefined;
    if (db && !stored) fail(NAME, `merchant ${merchantId} does not exist in the store (create it with npm run create-merchant)`);
    const storedSigner = stored?.payoutSigner ? getAddress(stored.payoutSigner) : undefined;

    if (command === "register-merchant") {
      if (!db && (signer === undefined || fee === undefined))
        fail(NAME, `${why} (or give both --signer and --fee-bps to register without reading the store)`);
      if (storedSigner && signer && signer !== storedSigner)
        fail(NAME, `--signer ${signer} differs from the store's signer ${storedSigner}`);
      if (stored && fee !== undefined && fee !== stored.feeBps)
        fail(
          NAME,
          `--fee-bps ${fee} differs from the store's fee ${stored.feeBps}: register with the store's fee, then change it with set-fee --fee-bps`,
        );
      const useSigner = signer ?? storedSigner;
      if (!useSigner)
        fail(
          NAME,
          `the store has no payout signer for merchant ${merchantId}: give --signer <0x…> (the merchant's payout address; it is recorded in the store)`,
        );
      const onChain = chain.rpcUrl ? await readMerchant(adminClient(chain), chain.vault, merchantId).catch(() => undefined) : undefined;
      if (onChain && !/^0x0{40}$/i.test(onChain.signer))
        fail(
          NAME,
          `merchant ${merchantId} is already registered on chain ${chain.chainId} (signer ${onChain.signer}, fee ${onChain.feeBps} bps)`,
        );
      await deliver(chain, registerMerchantCall(chain, merchantId, useSigner!, fee ?? stored!.feeBps));
      if (db && !storedSigner && !values.calldata) await setPayoutSignerIfUnset(db, merchantId, useSigner!);
      return;
    }

    if (command === "set-fee") {
      if (!db && fee === undefined) fail(NAME, `${why} (or give --fee-bps to set the vault's fee without reading the store)`);
      const target = fee ?? stored!.feeBps;
      await deliver(chain, setMerchantFeeCall(chain, merchantId, target));
      if (db && fee !== undefined && fee !== stored!.feeBps && !values.calldata) {
        await setMerchantFeeBps(db, merchantId, fee);
        process.stderr.write(`${NAME}: the store's fee of merchant ${merchantId} is now ${fee} bps too\n`);
      } else if (!db && fee !== undefined) process.stderr.write(`${NAME}: the store was not updated (${why})\n`);
      return;
    }

    // set-signer: only the merchant's current signer can send it, so it is printed
    const to = signer ?? storedSigner;
    if (!to) fail(NAME, `give --signer <0x…>: ${db ? `the store has no payout signer for merchant ${merchantId}` : why}`);
    if (!values.calldata)
      process.stderr.write(`${NAME}: only the merchant's current signer can send this; printing it (as with --calldata)\n`);
    process.stdout.write(JSON.stringify(setMerchantSignerCall(chain, merchantId, to!), null, 2) + "\n");
  } finally {
    await db?.close();
  }
});
