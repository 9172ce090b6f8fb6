import { loadConfig } from "./config.js";
import { startGateway } from "./runtime/gateway.js";

/**
 * `npm start`: the whole gateway in one process (config from GATEWAY_CONFIG and the environment, see
 * config.ts and config/gateway.example.json). SIGINT/SIGTERM stop it cleanly: the followers finish their
 * block, the notifier its round, then the API and the store close.
 */
const config = loadConfig();
const gateway = await startGateway({ config });
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
