/**
 * `npm run local`: a payable gateway on this machine in one command, to build an integration against.
 *
 * Starts a `hardhat node` on 127.0.0.1 that mines a block every --block-time ms, deploys the vault and a
 * USDT-style and a USDC-style token and mock price feeds (ETH/USD, USDT/USD, CNY/USD: USD- and CNY-priced orders
 * work), writes the gateway config, creates a merchant, registers it in the
 * vault, allowlists the tokens, funds a payer, starts the gateway, prints the keys, and writes what a script
 * needs to --out (JSON). Ctrl-C (SIGINT) or SIGTERM stops everything it started. The steps are in
 * scripts/lib/localStack.ts.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { LOCAL_STEPS, newLocalStack, stackJson, stopLocalStack } from "./lib/localStack.js";

const DEFAULT_DIR = ".data/local";
const usage = `usage: npm run local -- [--out FILE] [--port 8080] [--rpc-port 8545] [--block-time 1000] [--confirmations 2] [--dir ${DEFAULT_DIR}] [--database-url postgres://…]

Starts a local chain (hardhat node, a block every --block-time ms), deploys the vault, a USDT-style and a USDC-style token,
mock price feeds (ETH/USD 3000, USDT/USD 1, CNY/USD 0.14: isLegalTender 1 orders in USD or CNY work), creates, registers and funds a merchant, starts the gateway, prints the keys and writes them as JSON to --out
(default ${DEFAULT_DIR}/stack.json). Ctrl-C stops everything it started. The data directory is wiped on each run.`;
let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      out: { type: "string" },
      port: { type: "string", default: "8080" },
      "rpc-port": { type: "string", default: "8545" },
      "block-time": { type: "string", default: "1000" },
      confirmations: { type: "string", default: "2" },
      dir: { type: "string", default: DEFAULT_DIR },
      "database-url": { type: "string" },
      help: { type: "boolean", default: false },
    },
  }));
} catch (e) {
  process.stderr.write(`local: ${(e as Error).message.split(". ")[0]} (see --help)\n`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const int = (name: string, min: number, max: number) => {
  const v = values[name] as string;
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) {
    process.stderr.write(`local: --${name} ${v}: expected an integer ${min}..${max}\n`);
    process.exit(2);
  }
  return Number(v);
};
const dir = path.resolve(values.dir as string);
const out = path.resolve((values.out as string | undefined) ?? path.join(dir, "stack.json"));
const options = {
  dir,
  out,
  port: int("port", 1, 65_535),
  rpcPort: int("rpc-port", 1, 65_535),
  blockTimeMs: int("block-time", 100, 60_000),
  confirmations: int("confirmations", 1, 100),
  databaseUrl: values["database-url"] as string | undefined,
};

const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s`;
const stack = newLocalStack(options, (line) => console.log(`  ${elapsed()}   ${line}`));

let stopping = false;
async function shutdown(signal: string, code: number) {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping the gateway and the node`);
  await stopLocalStack(stack);
  process.exit(code);
}
process.on("SIGINT", () => void shutdown("SIGINT", 0));
process.on("SIGTERM", () => void shutdown("SIGTERM", 0));

for (const step of LOCAL_STEPS) {
  console.log(`${elapsed()} ${step.name}`);
  try {
    await step.run(stack);
  } catch (e) {
    console.error(`local: ${step.name} failed: ${(e as Error).message}`);
    await shutdown("error", 1);
  }
  if (stopping) break;
}

const json = stackJson(stack);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(`${out}.tmp`, JSON.stringify(json, null, 2) + "\n", { mode: 0o600 });
renameSync(`${out}.tmp`, out); // whoever waits for the file reads it whole
const env = Object.entries(json.env)
  .map(([k, v]) => `${k}=${v}`)
  .join(" ");
console.log(`
ready in ${elapsed().trim()}: a payable gateway on a local chain (Ctrl-C stops everything)

  gateway      ${json.gatewayUrl}   (health ${json.gatewayUrl}/health, metrics ${json.gatewayUrl}/metrics)
  console      ${json.consoleUrl}   (sign in with the payout signer below: import its key into a browser wallet on chain ${json.chainId})
  chain        ${json.chainId} at ${json.rpcUrl}, a block every ${json.blockTimeMs} ms, ${json.confirmations} confirmations
  vault        ${json.contracts.vault}
  tokens       ${json.tokens.map((t) => `${t.symbol} ${t.address}`).join("\n               ")}
  merchant     id ${json.merchant.id}
    API key    ${json.merchant.apiKey}
    API secret ${json.merchant.apiSecret}
    webhooks   ${json.merchant.webhookSecret}
    payout signer ${json.merchant.payoutSigner} (key ${json.merchant.payoutSignerKey})
  payer        ${json.payer.address} (key ${json.payer.privateKey}): 1,000,000 USDT and USDC, 10,000 ETH
  JSON         ${out}
  commands     ${env} npm run doctor
`);
