import { describe, it } from "node:test";
import { apiSuite } from "./apiSuite.js";
import { PG_URL, postgresReachable } from "./helpers.js";

if (await postgresReachable()) {
  apiSuite("postgres");
} else {
  const notice = `PostgreSQL not reachable at ${PG_URL}: the server tests were skipped (PGlite tests still ran)`;
  console.log(`# NOTICE: ${notice}`);
  describe("merchant API over HTTP (postgres)", () => {
    it("runs against a PostgreSQL server", { skip: notice }, () => {});
  });
}
