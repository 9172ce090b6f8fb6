import { parseArgs } from "node:util";
import { ConfigError, didYouMean, loadConfig, type GatewayConfig } from "../config.js";
import { BaseError } from "../domain/errors.js";
import { openGatewayStore, StoreUnavailableError } from "../runtime/store.js";
import type { Db } from "../store/db.js";

/**
 * What every operator command shares: `--help`, wrong arguments refused in one line (exit 2), the same
 * config and store as `npm start` (or one line saying why they cannot be reached), and no stack trace
 * for an error the operator can fix.
 */
export type OptionSpec = { type: "string" | "boolean"; description: string; default?: string | boolean; placeholder?: string };

export type CommandSpec = {
  /** as the operator types it: "reconcile", "admin register-merchant" */
  name: string;
  /** one paragraph: what it does */
  summary: string;
  options: Record<string, OptionSpec>;
  /** extra lines after the options (exit codes, examples) */
  notes?: string[];
  /** the command takes positional arguments (a subcommand) */
  positionals?: string;
};

/** Exit 2 with `<name>: <message>`. */
export function fail(name: string, message: string): never {
  process.stderr.write(`${name}: ${message}\n`);
  process.exit(2);
}

export function helpText(spec: CommandSpec): string {
  const npmName = spec.name.split(" ")[0]!;
  const usage = `npm run ${npmName} --${spec.name.includes(" ") ? ` ${spec.name.split(" ").slice(1).join(" ")}` : ""}${spec.positionals ? ` ${spec.positionals}` : ""} [options]`;
  const rows = Object.entries(spec.options).map(([k, o]) => {
    const flag = `--${k}${o.type === "string" ? ` <${o.placeholder ?? "value"}>` : ""}`;
    return `  ${flag.padEnd(30)} ${o.description}${o.default !== undefined && o.default !== false ? ` (default ${o.default})` : ""}`;
  });
  rows.push(`  ${"--help".padEnd(30)} this text`);
  return [
    `usage: ${usage}`,
    "",
    spec.summary,
    "",
    "options:",
    ...rows,
    "",
    "It reads the gateway's config like `npm start`: GATEWAY_CONFIG, DATABASE_URL or PGLITE_DIR, GATEWAY_MASTER_KEY(_FILE).",
    ...(spec.notes?.length ? ["", ...spec.notes] : []),
  ].join("\n");
}

/** Parses argv by the spec; prints the help and exits 0 on `--help`, exits 2 with one line on anything wrong. */
export function parseCommand<S extends CommandSpec>(spec: S, argv: string[] = process.argv.slice(2)) {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(helpText(spec) + "\n");
    process.exit(0);
  }
  const options = Object.fromEntries(
    Object.entries(spec.options).map(([k, o]) => [k, { type: o.type, ...(o.default !== undefined ? { default: o.default } : {}) }]),
  );
  try {
    return parseArgs({ args: argv, options: options as never, allowPositionals: Boolean(spec.positionals), strict: true }) as {
      values: Record<string, string | boolean | undefined>;
      positionals: string[];
    };
  } catch (e) {
    const msg = (e as Error).message;
    const unknown = /Unknown option '(--?[^']+)'/.exec(msg)?.[1];
    if (unknown) {
      const near = didYouMean(unknown.replace(/^-+/, ""), Object.keys(spec.options));
      fail(spec.name, `unknown option ${unknown}${near ? `; did you mean --${near}?` : ""} (see --help)`);
    }
    const positional = /Unexpected argument '([^']+)'/.exec(msg)?.[1];
    if (positional) fail(spec.name, `unexpected argument "${positional}" (see --help)`);
    fail(spec.name, `${msg.split(". ")[0]!.replace(/\.$/, "")} (see --help)`);
  }
}

/** The gateway's config, or one line (a config error lists each problem on its own line) and exit 2. */
export function commandConfig(name: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  try {
    return loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) fail(name, e.message);
    throw e;
  }
}

/** The gateway's store (it must exist), or one line saying why it cannot be used and exit 2. */
export async function commandStore(name: string, config: GatewayConfig): Promise<Db> {
  try {
    return await openGatewayStore(config, { who: name, mustExist: true });
  } catch (e) {
    if (e instanceof StoreUnavailableError) {
      process.stderr.write(`${e.shortMessage}\n`);
      process.exit(2);
    }
    throw e;
  }
}

/**
 * Runs a command's body: an error it expects (a BaseError: config, store, chain call) is one line and
 * exit 2; anything else keeps its stack, since that is a bug to report.
 */
export async function runCommand(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    if (e instanceof BaseError) fail(name, e.shortMessage.split("\n")[0]!);
    throw e;
  }
}
