import { createPublicClient, http, type PublicClient } from "viem";
import { collectReconciliation, compareReconciliation, formatMismatches, type Mismatch } from "../jobs/reconcile.js";
import { commandConfig, commandStore, fail, parseCommand, runCommand } from "./command.js";

/**
 * Compares the gateway's ledger with the chain (vault balances and fees per merchant and token, deposits
 * against sweeps, payouts against PayoutExecuted) and prints every mismatch as a table.
 *
 * Exit status: 0 when everything agrees, 1 when anything differs, 2 when it could not run (bad
 * arguments, the store held by a running PGlite gateway, no RPC URL, no confirmed block yet).
 */
const NAME = "reconcile";
const { values } = parseCommand({
  name: NAME,
  summary: "Compares the gateway's ledger with the chain at the follower's confirmed block and prints every mismatch.",
  options: {
    chain: { type: "string", description: "only this chain id", placeholder: "id" },
    merchant: { type: "string", description: "only this merchant id", placeholder: "id" },
    json: { type: "boolean", description: "print the mismatches as JSON", default: false },
  },
  notes: ["exit status: 0 everything agrees, 1 something differs, 2 could not run"],
});
const chainArg = values.chain as string | undefined;
const merchant = values.merchant as string | undefined;
if (chainArg !== undefined && !/^[1-9][0-9]{0,15}$/.test(chainArg)) fail(NAME, `--chain ${chainArg}: expected a chain id`);
if (merchant !== undefined && !/^[1-9][0-9]{0,18}$/.test(merchant)) fail(NAME, `--merchant ${merchant}: expected a merchant id`);

await runCommand(NAME, async () => {
  const config = commandConfig(NAME);
  const chains = config.chains.filter((c) => chainArg === undefined || c.chainId === Number(chainArg));
  if (!chains.length) fail(NAME, `chain ${chainArg} is not configured (configured: ${config.chains.map((c) => c.chainId).join(", ")})`);
  for (const chain of chains) if (!chain.rpcUrl) fail(NAME, `chain ${chain.chainId} has no rpcUrl in the config`);
  const db = await commandStore(NAME, config);
  const all: Mismatch[] = [];
  try {
    if (merchant && !(await db.query("SELECT 1 FROM merchants WHERE id = $1", [merchant])).length)
      fail(NAME, `merchant ${merchant} does not exist`);
    for (const chain of chains) {
      const client = createPublicClient({ transport: http(chain.rpcUrl!, { retryCount: 2 }), cacheTime: 0 }) as PublicClient;
      const input = await collectReconciliation({
        db,
        client,
        chainId: chain.chainId,
        vault: chain.vault,
        tokens: chain.tokens.map((t) => t.address),
        merchantId: merchant ? BigInt(merchant) : undefined,
      }).catch((e: Error) => fail(NAME, e.message.split("\n")[0]!));
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
});
