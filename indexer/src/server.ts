import { ConfigError, loadConfig } from "./config.js";
import { startGateway } from "./runtime/gateway.js";
import { StoreUnavailableError } from "./runtime/store.js";

/**
 * `npm start`: the whole gateway in one process (config from GATEWAY_CONFIG and the environment, see
 * config.ts and config/gateway.example.json). A wrong setup is refused with one line per problem and what
 * to write instead (exit 1). SIGINT/SIGTERM stop it cleanly: the followers finish their block, the notifier
 * its round, then the API and the store close.
 */
let gateway: Awaited<ReturnType<typeof startGateway>>;
try {
  gateway = await startGateway({ config: loadConfig(process.env, { createMasterKey: true }) });
} catch (e) {
  if (!(e instanceof ConfigError || e instanceof StoreUnavailableError)) throw e;
  process.stderr.write(`gateway: ${e.message}\n`);
  process.exit(1);
}
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  gateway.app.log.info({ msg: "stopping", signal });
  await gateway.stop();
  process.exit(0);
};
process.once("SIGINT", () => void stop("SIGINT"));
process.once("SIGTERM", () => void stop("SIGTERM"));
