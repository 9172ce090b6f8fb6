import { silentLogger, type ChainLogger } from "./logger.js";

/**
 * New heads over WebSocket (`eth_subscribe("newHeads")`), used only to wake the follower's poll loop the
 * moment a block arrives. The poll stays the source of truth: the follower still reads the head over HTTP
 * and links blocks by parent hash, so a missed, duplicated or out-of-order notification costs at most one
 * poll interval, never a block. On any error or close the socket is reopened with backoff; meanwhile the
 * loop simply polls.
 *
 * Node 22's global `WebSocket` (undici) is used: no extra package.
 */
export type HeadSubscription = {
  /** Resolves after `ms`, or sooner when a new head arrives (or arrived since the last wait), or `signal` aborts. */
  wait(ms: number, signal?: AbortSignal): Promise<"head" | "timeout" | "aborted">;
  /** whether the subscription is currently confirmed by the node */
  readonly live: boolean;
  /** heads received so far */
  readonly heads: number;
  close(): void;
};

export type CreateHeadSubscriptionParameters = {
  url: string;
  chainId: number;
  logger?: ChainLogger;
  /** first reconnect delay (default 500 ms, doubling to 30 s) */
  reconnectMs?: number;
};

export function createHeadSubscription({
  url,
  chainId,
  logger = silentLogger,
  reconnectMs = 500,
}: CreateHeadSubscriptionParameters): HeadSubscription {
  let ws: WebSocket | undefined;
  let live = false;
  let closed = false;
  let pending = false;
  let heads = 0;
  let failures = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  const waiters = new Set<() => void>();

  const notify = () => {
    pending = true;
    for (const w of [...waiters]) w();
  };

  function open() {
    if (closed) return;
    let socket: WebSocket;
    try {
      socket = new WebSocket(url);
    } catch (e) {
      return retry(`cannot open: ${(e as Error).message}`);
    }
    ws = socket;
    let subscription: string | undefined;
    socket.onopen = () => socket.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] }));
    socket.onmessage = (m) => {
      let msg: { id?: number; result?: unknown; error?: { message?: string }; method?: string; params?: { subscription?: string } };
      try {
        msg = JSON.parse(String(m.data));
      } catch {
        return;
      }
      if (msg.id === 1) {
        if (msg.error || typeof msg.result !== "string") {
          // the RPC offers no subscriptions: say so once and stay on polling
          logger.warn({ msg: "newHeads subscription refused; polling only", chain_id: chainId, error: msg.error?.message });
          closed = true;
          socket.close();
          return;
        }
        subscription = msg.result;
        live = true;
        failures = 0;
        logger.info({ msg: "newHeads subscribed", chain_id: chainId });
        // a head may have come while the socket was down
        notify();
      } else if (msg.method === "eth_subscription" && msg.params?.subscription === subscription) {
        heads++;
        notify();
      }
    };
    socket.onerror = () => {};
    socket.onclose = () => {
      live = false;
      if (ws === socket) ws = undefined;
      if (!closed) retry("socket closed");
    };
  }

  function retry(reason: string) {
    if (closed) return;
    failures++;
    const delay = Math.min(30_000, reconnectMs * 2 ** Math.min(failures - 1, 6));
    logger[failures >= 3 ? "warn" : "debug"]?.({
      msg: "newHeads socket down; polling meanwhile",
      chain_id: chainId,
      reason,
      retry_ms: delay,
    });
    retryTimer = setTimeout(open, delay);
    retryTimer.unref?.();
  }

  open();

  return {
    get live() {
      return live;
    },
    get heads() {
      return heads;
    },
    wait(ms, signal) {
      if (signal?.aborted) return Promise.resolve("aborted");
      if (pending) {
        pending = false;
        return Promise.resolve("head");
      }
      return new Promise((resolve) => {
        const done = (why: "head" | "timeout" | "aborted") => {
          clearTimeout(timer);
          waiters.delete(onHead);
          signal?.removeEventListener("abort", onAbort);
          if (why === "head") pending = false;
          resolve(why);
        };
        const onHead = () => done("head");
        const onAbort = () => done("aborted");
        const timer = setTimeout(() => done("timeout"), ms);
        waiters.add(onHead);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
    close() {
      closed = true;
      clearTimeout(retryTimer);
      for (const w of [...waiters]) w();
      ws?.close();
    },
  };
}
