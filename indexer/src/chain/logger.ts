/** Structured logs (`{ msg, chain_id, ... }`); a pino logger fits. */
export type ChainLogger = {
  info(obj: Record<string, unknown>): void;
  warn(obj: Record<string, unknown>): void;
  error(obj: Record<string, unknown>): void;
  debug?(obj: Record<string, unknown>): void;
};

export const silentLogger: ChainLogger = { info() {}, warn() {}, error() {}, debug() {} };
