import { mkdirSync } from "node:fs";
import type { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { BaseError } from "../domain/errors.js";

/**
 * One small query interface over the two PostgreSQL engines the gateway runs on: PGlite in a data
 * directory (the embedded default) and a PostgreSQL server (`DATABASE_URL`). Same SQL for both.
 *
 * Values: BIGINT and NUMERIC come back as decimal strings on both engines (convert with BigInt where
 * needed); bigint parameters are sent as decimal strings.
 */
export type Row = Record<string, any>;

export type Queryable = {
  query<R extends Row = Row>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<R[]>;
};

export type QueryOptions = {
  /**
   * Run as a named prepared statement on PostgreSQL: each pooled connection parses and plans it once. For the
   * hot statements only (payment/detail's read, the batched create): planning their LATERAL and correlated
   * subqueries cost more than running them (bench:api detail 2,558 → 5,180 req/s). One name per SQL text;
   * PGlite runs the text as usual. (Behind a transaction-mode pooler such as PgBouncer, leave it off.)
   */
  prepare?: string;
};

export type Db = Queryable & {
  readonly kind: "pglite" | "postgres";
  /** Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
};

export type CreateDbParameters = {
  /** A PostgreSQL connection string; when absent PGlite is used. */
  databaseUrl?: string;
  /** PGlite data directory; `"memory://"` for an in-memory database. */
  pgliteDir?: string;
  /** Schema to create (if missing) and put first on the search path (tests use one per run). */
  schema?: string;
  /** pg pool size. */
  poolSize?: number;
};

export class DatabaseError extends BaseError {
  override name = "DatabaseError";
  /** PostgreSQL SQLSTATE, when the server gave one. */
  readonly sqlState?: string;
  constructor(message: string, cause: unknown) {
    const code = (cause as { code?: string })?.code;
    // connection failures, serialization failures and deadlocks are worth retrying; constraint errors are not
    const retryable = !code || code.startsWith("08") || code === "40001" || code === "40P01" || code === "57P01";
    super(message, { cause, retryable });
    this.sqlState = code;
  }
}

const toParam = (v: unknown) => (typeof v === "bigint" ? v.toString() : v);
const mapParams = (params?: readonly unknown[]) => (params ? params.map(toParam) : []);

function wrap(e: unknown): never {
  if (e instanceof BaseError) throw e;
  throw new DatabaseError((e as Error)?.message ?? String(e), e);
}

export async function createDb(args: CreateDbParameters): Promise<Db> {
  return args.databaseUrl ? createPostgresDb(args) : createPgliteDb(args);
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
function checkSchema(schema?: string) {
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw new BaseError(`Invalid schema name "${schema}"`);
}

async function createPgliteDb({ pgliteDir = "./.data/pglite", schema }: CreateDbParameters): Promise<Db> {
  checkSchema(schema);
  if (!pgliteDir.includes("://")) mkdirSync(pgliteDir, { recursive: true });
  // loaded only when used: a gateway on PostgreSQL does not carry PGlite's code in memory
  const { PGlite } = await import("@electric-sql/pglite");
  const lite = await PGlite.create(pgliteDir, {
    parsers: { 20: (x: string) => x, 1700: (x: string) => x },
  });
  if (schema) await lite.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}, public;`);
  const q =
    (runner: { query: PGlite["query"] }) =>
    async <R extends Row>(sql: string, params?: readonly unknown[]) => {
      try {
        return (await runner.query<R>(sql, mapParams(params))).rows;
      } catch (e) {
        return wrap(e);
      }
    };
  return {
    kind: "pglite",
    query: q(lite),
    transaction: (fn) => lite.transaction((tx) => fn({ query: q(tx) })),
    close: () => lite.close(),
  };
}

async function createPostgresDb({ databaseUrl, schema, poolSize = 10 }: CreateDbParameters): Promise<Db> {
  checkSchema(schema);
  const types = {
    getTypeParser: (oid: number, format?: any) => (oid === 20 || oid === 1700 ? (x: string) => x : pg.types.getTypeParser(oid, format)),
  };
  if (schema) {
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      await admin.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    types,
    ...(schema ? { options: `-c search_path=${schema},public` } : {}),
  });
  // an idle client's network error must not crash the process; the next query reports it
  pool.on("error", () => {});
  const q =
    (runner: { query: pg.Pool["query"] | pg.PoolClient["query"] }) =>
    async <R extends Row>(sql: string, params?: readonly unknown[], options?: QueryOptions) => {
      try {
        const values = mapParams(params);
        return (await (runner as pg.Pool).query<R>(options?.prepare ? { name: options.prepare, text: sql, values } : { text: sql, values }))
          .rows;
      } catch (e) {
        return wrap(e);
      }
    };
  return {
    kind: "postgres",
    query: q(pool),
    async transaction(fn) {
      const client = await pool.connect().catch(wrap);
      try {
        await client.query("BEGIN");
        const result = await fn({ query: q(client) });
        await client.query("COMMIT");
        return result;
      } catch (e) {
        await client.query("ROLLBACK").catch(() => {});
        throw e;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
