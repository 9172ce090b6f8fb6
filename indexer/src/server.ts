import module from "node:module";

/**
 * `npm start`: the whole gateway in one process (config from GATEWAY_CONFIG and the environment, see
 * config.ts and config/gateway.example.json). A wrong setup is refused with one line per problem and what
 * to write instead (exit 1). SIGINT/SIGTERM stop it cleanly: the followers finish their block, the notifier
 * its round, then the API and the store close.
 */

// V8's compiled code of the modules is kept on disk (Node 22): a restart skips most of the parsing, so
// /health answers sooner. It must be on before the modules load, hence the imports below are dynamic.
module.enableCompileCache?.();
const { ConfigError, loadConfig } = await import("./config.js");
const { startGateway } = await import("./runtime/gateway.js");
const { StoreUnavailableError } = await import("./runtime/store.js");

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
