import { parseArgs } from "node:util";
import { loadConfig } from "../config.js";
import { openStore } from "../store/open.js";
import { CONSOLE_ROLES, isConsoleRole, listConsoleMembers, removeConsoleMember, upsertConsoleMember } from "../store/members.js";

/**
 * The operator's way into a merchant's console: adds (or changes) a member with a role, removes one, or
 * lists them. A merchant that signs its own payouts needs none of this (its payout signer is an admin);
 * one whose payout key the gateway holds has no signer to sign in with, so its first admin comes from here.
 *
 *   npx tsx indexer/src/console/cli.ts --merchant 7 --address 0x… --role admin [--label "Alice"]
 *   npx tsx indexer/src/console/cli.ts --merchant 7 --address 0x… --remove
 *   npx tsx indexer/src/console/cli.ts --merchant 7 --list
 */
const { values } = parseArgs({
  options: {
    merchant: { type: "string" },
    address: { type: "string" },
    role: { type: "string" },
    label: { type: "string" },
    remove: { type: "boolean", default: false },
    list: { type: "boolean", default: false },
  },
});
const fail = (message: string) => {
  process.stderr.write(`console-member: ${message}\n`);
  process.exit(2);
};
if (!values.merchant || !/^[1-9][0-9]{0,18}$/.test(values.merchant)) fail("--merchant <id> is required");
if (!values.list && (!values.address || !/^0x[0-9a-fA-F]{40}$/.test(values.address))) fail("--address <0x and 40 hex digits> is required");
if (!values.list && !values.remove && !isConsoleRole(values.role)) fail(`--role must be one of ${CONSOLE_ROLES.join(", ")}`);

const config = loadConfig();
const db = await openStore({ databaseUrl: config.databaseUrl, pgliteDir: config.pgliteDir });
try {
  const merchantId = BigInt(values.merchant!);
  const [m] = await db.query("SELECT 1 FROM merchants WHERE id = $1", [merchantId]);
  if (!m) fail(`merchant ${values.merchant} does not exist`);
  if (values.remove) {
    // its open sessions lose this merchant at their next request (see session.ts loadUser)
    const removed = await removeConsoleMember(db, merchantId, values.address!);
    if (!removed) fail(`${values.address} is not a member of merchant ${values.merchant}`);
  } else if (!values.list) {
    await upsertConsoleMember(db, {
      merchantId,
      address: values.address!,
      role: values.role as (typeof CONSOLE_ROLES)[number],
      label: values.label ?? null,
      addedBy: null,
    });
  }
  const members = await listConsoleMembers(db, merchantId);
  process.stdout.write(
    JSON.stringify(
      members.map((x) => ({ address: x.address, role: x.role, label: x.label, payoutSigner: x.signer })),
      null,
      2,
    ) + "\n",
  );
  process.stdout.write(`sign in at ${new URL(config.payPageUrl).origin}/console with one of these addresses' wallets\n`);
} finally {
  await db.close();
}
