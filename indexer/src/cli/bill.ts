import { writeFileSync } from "node:fs";
import { buildStatement, parsePeriodBound, statementToCsv, statementToJson } from "../store/statements.js";
import { commandConfig, commandStore, fail, parseCommand, runCommand } from "./command.js";

/**
 * Exports a merchant's statement for a period (the same data as GET /api/mer/bill, without its
 * period limit) as CSV (default) or JSON, to stdout or a file. `--to` is exclusive; a date alone means
 * the end of that day. Exit 2 on bad arguments.
 */
const NAME = "bill";
const { values } = parseCommand({
  name: NAME,
  summary:
    "Writes a merchant's statement for a period (every payment, refund, recharge, withdrawal, settlement and fee, with totals) as CSV or JSON.",
  options: {
    merchant: { type: "string", description: "the merchant id (required)", placeholder: "id" },
    from: { type: "string", description: "start, inclusive: YYYY-MM-DD or YYYY-MM-DD HH:mm:ss UTC (required)", placeholder: "date" },
    to: { type: "string", description: "end, exclusive; a date alone means the end of that day (required)", placeholder: "date" },
    format: { type: "string", description: "csv or json", default: "csv", placeholder: "format" },
    out: { type: "string", description: "write to this file instead of stdout", placeholder: "file" },
  },
});
const merchant = values.merchant as string | undefined;
if (!merchant || !/^[1-9][0-9]{0,18}$/.test(merchant)) fail(NAME, "--merchant <id> is required (a positive integer)");
const from = values.from
  ? parsePeriodBound(values.from as string, "from")
  : fail(NAME, "--from <YYYY-MM-DD | YYYY-MM-DD HH:mm:ss> is required");
const to = values.to ? parsePeriodBound(values.to as string, "to") : fail(NAME, "--to <YYYY-MM-DD | YYYY-MM-DD HH:mm:ss> is required");
if (!from) fail(NAME, `--from ${values.from}: expected YYYY-MM-DD or YYYY-MM-DD HH:mm:ss (UTC)`);
if (!to) fail(NAME, `--to ${values.to}: expected YYYY-MM-DD or YYYY-MM-DD HH:mm:ss (UTC)`);
if (to! <= from!) fail(NAME, "--to must be after --from");
if (values.format !== "csv" && values.format !== "json") fail(NAME, `--format ${values.format}: expected csv or json`);

await runCommand(NAME, async () => {
  const config = commandConfig(NAME);
  const db = await commandStore(NAME, config);
  try {
    if (!(await db.query("SELECT 1 FROM merchants WHERE id = $1", [merchant])).length) fail(NAME, `merchant ${merchant} does not exist`);
    const tokens = (chainId: number, address: string) =>
      config.chains.find((c) => c.chainId === chainId)?.tokens.find((t) => t.address.toLowerCase() === address);
    const statement = await buildStatement(db, { merchantId: BigInt(merchant!), from: from!, to: to!, tokens });
    const text = values.format === "json" ? JSON.stringify(statementToJson(statement), null, 2) + "\n" : statementToCsv(statement);
    if (values.out) {
      writeFileSync(values.out as string, text);
      process.stderr.write(`${NAME}: ${statement.lines.length} lines, ${statement.totals.length} token totals -> ${values.out}\n`);
    } else process.stdout.write(text);
  } finally {
    await db.close();
  }
});
