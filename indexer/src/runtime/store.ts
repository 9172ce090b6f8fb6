import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { GatewayConfig } from "../config.js";
import { BaseError } from "../domain/errors.js";
import { createDb, type Db } from "../store/db.js";
import { migrate } from "../store/migrate.js";

/** The store the config names cannot be used by this process; the message says why and what to do. */
export class StoreUnavailableError extends BaseError {
  override name = "StoreUnavailableError";
}

export type OpenGatewayStoreOptions = {
  /** who opens it, for the lock file and the messages ("gateway", "reconcile", …) */
  who: string;
  /**
   * Refuse a store that does not exist yet instead of creating it (every command but `npm start`): a
   * command run without the gateway's environment must not make a second, empty store.
   */
  mustExist?: boolean;
};

/** `<pgliteDir>.lock`: PGlite serves one process, so whoever opens the directory holds this file. */
export const pgliteLockFile = (dir: string) => `${dir.replace(/[\\/]+$/, "")}.lock`;

const describe = (config: Pick<GatewayConfig, "databaseUrl" | "pgliteDir">) =>
  config.databaseUrl ? `the PostgreSQL database ${redactDatabaseUrl(config.databaseUrl)}` : `the PGlite store ${config.pgliteDir}`;

export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username ? `${u.username}@` : ""}${u.host}${u.pathname}`;
  } catch {
    return "(DATABASE_URL)";
  }
}

/**
 * Opens the gateway's store as the config names it (PostgreSQL when `databaseUrl` is set, else PGlite in
 * `pgliteDir`) and migrates it. For PGlite it takes the directory's lock file first, so a second process
 * (a CLI beside a running gateway) gets one line saying who holds it instead of a PGlite abort.
 */
export async function openGatewayStore(
  config: Pick<GatewayConfig, "databaseUrl" | "pgliteDir">,
  { who, mustExist = false }: OpenGatewayStoreOptions,
): Promise<Db> {
  const dir = config.pgliteDir;
  const usesDirectory = !config.databaseUrl && !dir.includes("://");
  let release = () => {};
  if (usesDirectory) {
    if (mustExist && !existsSync(join(dir, "PG_VERSION"))) {
      throw new StoreUnavailableError(
        `${who}: there is no gateway store at ${dir}. Run this with the gateway's environment (GATEWAY_CONFIG, and PGLITE_DIR or DATABASE_URL as \`npm start\` has them); \`npm start\` creates the store on its first start`,
      );
    }
    release = lockDirectory(dir, who);
  }
  let db: Db;
  try {
    db = await createDb({ databaseUrl: config.databaseUrl, pgliteDir: dir });
  } catch (e) {
    release();
    throw new StoreUnavailableError(`${who}: cannot open ${describe(config)}: ${shortError(e)}`, { cause: e });
  }
  try {
    if (mustExist && config.databaseUrl) {
      const [r] = await db.query<{ t: string | null }>("SELECT to_regclass('merchants')::text AS t");
      if (!r?.t) {
        throw new StoreUnavailableError(
          `${who}: ${describe(config)} holds no gateway schema. Is DATABASE_URL the gateway's? \`npm start\` creates the schema on its first start`,
        );
      }
    }
    await migrate(db);
  } catch (e) {
    await db.close().catch(() => {});
    release();
    if (e instanceof StoreUnavailableError) throw e;
    throw new StoreUnavailableError(`${who}: cannot use ${describe(config)}: ${shortError(e)}`, { cause: e });
  }
  const close = db.close.bind(db);
  return Object.assign(db, {
    async close() {
      try {
        await close();
      } finally {
        release();
      }
    },
  });
}

/** The first line of an error, at most 300 characters (PGlite's aborts carry its whole minified source). */
function shortError(e: unknown): string {
  const text = (e as { shortMessage?: string })?.shortMessage ?? (e as Error)?.message ?? String(e);
  return text.split("\n")[0]!.slice(0, 300);
}

type LockHolder = { pid: number; who: string; since: string };

function lockDirectory(dir: string, who: string): () => void {
  const file = pgliteLockFile(dir);
  mkdirSync(dirname(file), { recursive: true });
  const me: LockHolder = { pid: process.pid, who, since: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, JSON.stringify(me) + "\n", { flag: "wx" });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0)
        throw new StoreUnavailableError(`${who}: cannot lock ${dir}: ${shortError(e)}`);
      let holder: LockHolder | undefined;
      try {
        holder = JSON.parse(readFileSync(file, "utf8")) as LockHolder;
      } catch {
        // unreadable: treat as stale
      }
      if (holder && holder.pid !== process.pid && isAlive(holder.pid)) {
        throw new StoreUnavailableError(
          `${who}: ${holder.who} (pid ${holder.pid}, since ${holder.since}) holds the PGlite store ${dir}, and PGlite serves one process. ` +
            "Stop it first, or run the gateway on PostgreSQL (DATABASE_URL) so that commands can run beside it",
        );
      }
      unlinkSync(file); // its process is gone
    }
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off("exit", release);
    try {
      unlinkSync(file);
    } catch {}
  };
  process.on("exit", release);
  return release;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
