/**
 * The gateway process of `npm run bench:api` (forked by scripts/bench-api.ts): buildApp on the bench's
 * PostgreSQL schema, listening on 127.0.0.1 on a free port, which it reports to the parent over IPC.
 * Config from the parent through the environment (BENCH_*), so the parent can create the merchant first.
 */
import { buildApp } from "../../indexer/src/api/app.js";
import { resolveConfig } from "../../indexer/src/config.js";
import { openStore } from "../../indexer/src/store/open.js";

const env = process.env;
const config = resolveConfig({
  masterKey: Buffer.from(env.BENCH_MASTER_KEY!, "hex"),
  payPageUrl: "https://pay.example.test/pay",
  // one merchant key carries the whole load here; the default 500/s per key would answer 42901
  rateLimitPerSecond: 10_000_000,
  chains: JSON.parse(env.BENCH_CHAINS!),
});
const db = await openStore({ databaseUrl: env.BENCH_DATABASE_URL!, schema: env.BENCH_SCHEMA!, poolSize: Number(env.BENCH_POOL) });
const app = await buildApp({ db, config });
await app.listen({ host: "127.0.0.1", port: 0 });
const { port } = app.server.address() as { port: number };
process.send!({ port, pid: process.pid, node: process.version });

const stop = async () => {
  await app.close();
  await db.close();
  process.exit(0);
};
process.on("message", (m) => {
  if (m === "stop") void stop();
});
process.once("SIGTERM", () => void stop());
