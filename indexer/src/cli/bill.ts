import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadConfig } from "../config.js";
import { openStore } from "../store/open.js";
import { buildStatement, parsePeriodBound, statementToCsv, statementToJson } from "../store/statements.js";

/**
 * Exports a merchant's statement for a period (the same data as GET /api/mer/bill, without its
 * period limit) as CSV (default) or JSON, to stdout or a file.
 *
 *   npx tsx indexer/src/cli/bill.ts --merchant 1 --from 2026-12-01 --to 2026-12-31 [--format csv|json] [--out file]
 *
 * `--to` is exclusive; a date alone means the end of that day. Exit 2 on bad arguments.
 */
const { values } = parseArgs({
  options: {
    merchant: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    format: { type: "string", default: "csv" },
    out: { type: "string" },
  },
});
const fail = (msg: string): never => {
  process.stderr.write(`bill: ${msg}\n`);
  process.exit(2);
};
if (!values.merchant || !/^[1-9][0-9]{0,18}$/.test(values.merchant)) fail("--merchant <id> is required (a positive integer)");
const from = values.from ? parsePeriodBound(values.from, "from") : fail("--from <YYYY-MM-DD | YYYY-MM-DD HH:mm:ss> is required");
const to = values.to ? parsePeriodBound(values.to, "to") : fail("--to <YYYY-MM-DD | YYYY-MM-DD HH:mm:ss> is required");
if (!from) fail(`--from ${values.from}: expected YYYY-MM-DD or YYYY-MM-DD HH:mm:ss (UTC)`);
if (!to) fail(`--to ${values.to}: expected YYYY-MM-DD or YYYY-MM-DD HH:mm:ss (UTC)`);
if (to! <= from!) fail("--to must be after --from");
if (values.format !== "csv" && values.format !== "json") fail("--format must be csv or json");

const config = loadConfig();
const db = await openStore({ databaseUrl: config.databaseUrl, pgliteDir: config.pgliteDir });
try {
  const [m] = await db.query("SELECT 1 FROM merchants WHERE id = $1", [values.merchant]);
  if (!m) fail(`merchant ${values.merchant} does not exist`);
  const tokens = (chainId: number, address: string) =>
    config.chains.find((c) => c.chainId === chainId)?.tokens.find((t) => t.address.toLowerCase() === address);
  const statement = await buildStatement(db, { merchantId: BigInt(values.merchant!), from: from!, to: to!, tokens });
  const text = values.format === "json" ? JSON.stringify(statementToJson(statement), null, 2) + "\n" : statementToCsv(statement);
  if (values.out) {
    writeFileSync(values.out, text);
    process.stderr.write(`bill: ${statement.lines.length} lines, ${statement.totals.length} token totals -> ${values.out}\n`);
  } else process.stdout.write(text);
} finally {
  await db.close();
}
