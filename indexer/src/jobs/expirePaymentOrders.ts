import type { Db } from "../store/db.js";
import { expireDuePaymentOrders } from "../store/paymentOrders.js";

export type PaymentExpiryJob = {
  /** one pass: expires up to a batch of due orders; returns how many moved */
  runOnce(): Promise<number>;
  start(): void;
  stop(): void;
};

/**
 * Periodically moves unpaid orders past their expiry to -2 (underpaid ones to -1) and rests their
 * addresses; see {expireDuePaymentOrders}. Several processes may run it against one PostgreSQL.
 */
export function createPaymentExpiryJob(args: {
  db: Db;
  poolCooldownSeconds: number;
  intervalMs?: number;
  onError?: (err: unknown) => void;
}): PaymentExpiryJob {
  const { db, poolCooldownSeconds, intervalMs = 5_000, onError = () => {} } = args;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  const runOnce = async () => {
    let total = 0;
    for (;;) {
      const moved = await expireDuePaymentOrders(db, { poolCooldownSeconds, limit: 200 });
      total += moved.length;
      if (moved.length < 200) return total;
    }
  };
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      await runOnce();
    } catch (err) {
      onError(err);
    } finally {
      running = false;
    }
  };
  return {
    runOnce,
    start() {
      timer ??= setInterval(tick, intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
