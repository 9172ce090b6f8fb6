import { parseArgs } from "node:util";
import { createPublicClient, http, type PublicClient } from "viem";
import { loadConfig } from "../config.js";
import { formatMismatches, collectReconciliation, compareReconciliation, type Mismatch } from "../jobs/reconcile.js";
import { openStore } from "../store/open.js";

/**
 * Compares the gateway's ledger with the chain (vault balances and fees per merchant and token, deposits
 * against sweeps, payouts against PayoutExecuted) and prints every mismatch as a table.
 *
 *   npx tsx indexer/src/cli/reconcile.ts [--chain <id>] [--merchant <id>] [--json]
 *
 * Exit status: 0 when everything agrees, 1 when anything differs, 2 when it could not run (bad
 * arguments, no RPC URL, the follower has not confirmed any block yet).
 */
const { values } = parseArgs({
  options: { chain: { type: "string" }, merchant: { type: "string" }, json: { type: "boolean", default: false } },
});
const fail = (msg: string): never => {
  process.stderr.write(`reconcile: ${msg}\n`);
  process.exit(2);
};
if (values.chain !== undefined && !/^[1-9][0-9]{0,15}$/.test(values.chain)) fail("--chain must be a chain id");
if (values.merchant !== undefined && !/^[1-9][0-9]{0,18}$/.test(values.merchant)) fail("--merchant must be a merchant id");

const config = loadConfig();
const chains = config.chains.filter((c) => values.chain === undefined || c.chainId === Number(values.chain));
if (!chains.length) fail(`chain ${values.chain} is not configured (configured: ${config.chains.map((c) => c.chainId).join(", ")})`);
const db = await openStore({ databaseUrl: config.databaseUrl, pgliteDir: config.pgliteDir });
const all: Mismatch[] = [];
try {
  if (values.merchant && !(await db.query("SELECT 1 FROM merchants WHERE id = $1", [values.merchant])).length) fail(`merchant ${values.merchant} does not exist`);
  for (const chain of chains) {
    const rpcUrl = chain.rpcUrl ?? process.env.RPC_URL;
    if (!rpcUrl) fail(`chain ${chain.chainId} has no rpcUrl in the config (or RPC_URL)`);
    const client = createPublicClient({ transport: http(rpcUrl, { retryCount: 2 }), cacheTime: 0 }) as PublicClient;
    const input = await collectReconciliation({
      db,
      client,
      chainId: chain.chainId,
      vault: chain.vault,
      tokens: chain.tokens.map((t) => t.address),
      merchantId: values.merchant ? BigInt(values.merchant) : undefined,
    }).catch((e: Error) => fail(e.message));
    const found = compareReconciliation(input);
    all.push(...found);
    if (!values.json) {
      process.stdout.write(
        `chain ${chain.chainId} (${chain.name}) at block ${input.atBlock}: ${input.merchants.length} merchant(s) x ${input.tokens.length} token(s), ` +
          `${input.payoutRecords.length} payout order(s), ${input.payoutEvents.length} PayoutExecuted event(s), ` +
          `${input.foundByBalance?.count ?? 0} deposit(s) found by balance\n`,
      );
    }
  }
  const symbol = (chainId: number, token: string) =>
    config.chains.find((c) => c.chainId === chainId)?.tokens.find((t) => t.address.toLowerCase() === token)?.symbol ?? token;
  if (values.json) process.stdout.write(JSON.stringify(all, null, 2) + "\n");
  else process.stdout.write(formatMismatches(all, symbol) + "\n");
  process.exitCode = all.length ? 1 : 0;
} finally {
  await db.close();
}
