import { buildApp } from "./api/app.js";
import { loadConfig } from "./config.js";
import { createPaymentExpiryJob } from "./jobs/expirePaymentOrders.js";
import { openStore } from "./store/open.js";

/** Entry point: `npx tsx indexer/src/server.ts` (config from the environment, see config.ts). */
const config = loadConfig();
const db = await openStore({ databaseUrl: config.databaseUrl, pgliteDir: config.pgliteDir });
const app = await buildApp({
  db,
  config,
  logger: { level: config.logLevel, redact: ['req.headers["x-pay-sign"]', "req.headers.authorization"] },
});
const expiry = createPaymentExpiryJob({
  db,
  poolCooldownSeconds: config.poolCooldownSeconds,
  onError: (err) => app.log.error({ err }, "payment expiry failed"),
});
expiry.start();
const close = async () => {
  expiry.stop();
  await app.close();
  await db.close();
  process.exit(0);
};
process.once("SIGINT", close);
process.once("SIGTERM", close);
await app.listen({ host: config.host, port: config.port });
