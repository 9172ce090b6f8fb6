import { createDoctor, findingsForMerchant, formatReport } from "../doctor/index.js";
import { StoreUnavailableError, openGatewayStore } from "../runtime/store.js";
import type { Db } from "../store/db.js";
import { commandConfig, fail, parseCommand, runCommand } from "./command.js";

/**
 * `npm run doctor`: the checks `npm start` runs at start and `/health` reports, once, with what to run to
 * fix each problem. Exit 0 when nothing fails (warnings allowed), 1 when something fails, 2 when it could
 * not run. Beside a running PGlite gateway it checks the chains only and says so.
 */
const NAME = "doctor";
const { values } = parseCommand({
  name: NAME,
  summary:
    "Checks the gateway's setup: the store and master key, each chain's RPC (reachable, right chain id, head moving), vault code, the operator's role " +
    "and balance, each token on the allowlist, each merchant registered with the store's signer and fee, the webhook backlog. Each problem says how to fix it.",
  options: {
    merchant: {
      type: "string",
      description: "only what concerns this merchant (and the gateway's problems that hold it up)",
      placeholder: "id",
    },
    json: { type: "boolean", description: "print the report as JSON", default: false },
    verbose: { type: "boolean", description: "list the checks that passed too", default: false },
  },
  notes: ["exit status: 0 nothing fails (warnings allowed), 1 something fails, 2 could not run"],
});
const merchant = values.merchant as string | undefined;
if (merchant !== undefined && !/^[1-9][0-9]{0,18}$/.test(merchant)) fail(NAME, `--merchant ${merchant}: expected a merchant id`);

await runCommand(NAME, async () => {
  const config = commandConfig(NAME);
  let db: Db | undefined;
  let storeUnavailable: string | undefined;
  try {
    db = await openGatewayStore(config, { who: "doctor", mustExist: true });
  } catch (e) {
    if (!(e instanceof StoreUnavailableError)) throw e;
    storeUnavailable = e.shortMessage;
  }
  try {
    const doctor = createDoctor({ config, db, storeUnavailable });
    let report = await doctor.run();
    if (merchant) report = { ...report, findings: findingsForMerchant(report, merchant) };
    process.stdout.write(
      values.json ? JSON.stringify(report, null, 2) + "\n" : formatReport(report, { verbose: values.verbose === true }) + "\n",
    );
    process.exitCode = report.findings.some((f) => f.status === "fail") ? 1 : 0;
  } finally {
    await db?.close();
  }
});
