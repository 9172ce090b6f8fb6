import { createDb, type CreateDbParameters, type Db } from "./db.js";
import { migrate } from "./migrate.js";

/** Opens the database (PGlite or PostgreSQL) and brings its schema up to date. */
export async function openStore(args: CreateDbParameters): Promise<Db> {
  const db = await createDb(args);
  try {
    await migrate(db);
  } catch (e) {
    await db.close();
    throw e;
  }
  return db;
}
