import { readdirSync, readFileSync } from "node:fs";
import { postgreSplitterOptions, splitQuery } from "dbgate-query-splitter";
import { fileURLToPath } from "node:url";
import type { Db } from "./db.js";

const DIR = fileURLToPath(new URL("./migrations/", import.meta.url));
/** Arbitrary constant: the advisory lock that serialises migrations across processes. */
const MIGRATION_LOCK = 7_202_611;

/**
 * Applies every `migrations/NNN_name.sql` not yet recorded in `schema_migrations`, in order, each in its
 * own transaction, under an advisory lock so several processes starting at once migrate only once.
 * `only` keeps some versions (a test builds an older schema, fills it, then migrates the rest).
 * @returns the versions applied now
 */
export async function migrate(db: Db, opts: { only?: (version: number) => boolean } = {}): Promise<number[]> {
  const files = readdirSync(DIR)
    .filter((f) => /^\d{3}_.+\.sql$/.test(f) && (opts.only?.(Number(f.slice(0, 3))) ?? true))
    .sort();
  const applied: number[] = [];
  await db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await tx.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    );
    const done = new Set((await tx.query<{ version: number }>("SELECT version FROM schema_migrations")).map((r) => r.version));
    for (const file of files) {
      const version = Number(file.slice(0, 3));
      if (done.has(version)) continue;
      const sql = readFileSync(DIR + file, "utf8");
      for (const statement of splitStatements(sql)) await tx.query(statement);
      await tx.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [version, file]);
      applied.push(version);
    }
  });
  return applied;
}

/**
 * Splits a migration into statements with dbgate-query-splitter's PostgreSQL rules: `;` outside quotes,
 * comments and dollar-quoted bodies (`$$ … $$`, `$fn$ … $fn$`), so PL/pgSQL function bodies stay whole.
 * Comments outside bodies are dropped; text inside a body is passed through untouched.
 */
export function splitStatements(sql: string): string[] {
  return (splitQuery(sql, { ...postgreSplitterOptions, ignoreComments: true }) as string[]).map((s) => s.trim()).filter(Boolean);
}
