import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { splitStatements } from "../src/store/migrate.js";

const DIR = fileURLToPath(new URL("../src/store/migrations/", import.meta.url));

/** The splitter before dollar quotes were supported: `;` at line ends, full-line comments dropped. */
const oldSplit = (sql: string) =>
  sql
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, "").trim())
    .filter(Boolean);

describe("migration statement splitter", () => {
  it("keeps a dollar-quoted function body whole", () => {
    const sql = `CREATE TABLE t (a INT);
CREATE FUNCTION f(x INT) RETURNS INT LANGUAGE plpgsql AS $$
DECLARE y INT;
BEGIN
  y := x + 1; -- a comment; with a semicolon
  RETURN y;
END;
$$;
CREATE FUNCTION g() RETURNS TEXT LANGUAGE plpgsql AS $body$ BEGIN RETURN $$;$$; END; $body$;
SELECT 1`;
    const parts = splitStatements(sql);
    assert.equal(parts.length, 4);
    assert.equal(parts[0], "CREATE TABLE t (a INT)");
    assert.match(parts[1]!, /^CREATE FUNCTION f[\s\S]*y := x \+ 1; -- a comment; with a semicolon[\s\S]*END;\n\$\$$/);
    assert.equal(parts[2], "CREATE FUNCTION g() RETURNS TEXT LANGUAGE plpgsql AS $body$ BEGIN RETURN $$;$$; END; $body$");
    assert.equal(parts[3], "SELECT 1");
  });

  it("ignores semicolons in strings, quoted identifiers and comments; $1 is not a dollar quote", () => {
    const parts = splitStatements(`-- header; comment
INSERT INTO "odd;name" VALUES ('it''s; fine', $1); /* block; comment */ SELECT 'x'`);
    assert.deepEqual(parts, [`INSERT INTO "odd;name" VALUES ('it''s; fine', $1)`, "SELECT 'x'"]);
  });

  it("splits every existing migration without bodies into the same statements as before", () => {
    for (const file of readdirSync(DIR).filter((f) => f.endsWith(".sql"))) {
      const sql = readFileSync(DIR + file, "utf8");
      if (sql.includes("$$") || /\$[a-z_]+\$/i.test(sql)) continue;
      const strip = (s: string) => s.replace(/--.*$/gm, "").replace(/\s+/g, " ").trim();
      assert.deepEqual(splitStatements(sql).map(strip), oldSplit(sql).map(strip), file);
    }
  });
});
