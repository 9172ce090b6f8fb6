import http from "node:http";
import https from "node:https";
import { BaseError } from "../domain/errors.js";
import { checkLiteralHost, guardedLookup, WebhookTargetRefusedError } from "./urlGuard.js";

export type DeliveryResult = {
  /** the HTTP status, or null when no answer came (see `error`) */
  status: number | null;
  /** the answer's first KiB (the acknowledgement is `success`) */
  body: string;
  error: string | null;
  /** false when trying again cannot help (refused target, bad URL) */
  retryable: boolean;
  durationMs: number;
};

export type Deliverer = {
  deliver(p: { url: string; headers: Record<string, string>; body: string }): Promise<DeliveryResult>;
  close(): void;
};

export type CreateDelivererParameters = {
  /** whole attempt, connect to last response byte */
  timeoutMs: number;
  /** skip the SSRF guard (tests, the local demo) */
  allowPrivateTargets: boolean;
};

/**
 * One POST per attempt over node:http(s) with keep-alive agents. The SSRF guard sits in the agents' DNS
 * lookup (so the checked address is the one connected to) plus a check of literal-IP hosts, which never
 * go through DNS. Redirects are not followed (a 3xx is a failed attempt); the answer's first KiB is kept
 * (the acknowledgement), the rest read and dropped.
 */
export function createDeliverer({ timeoutMs, allowPrivateTargets }: CreateDelivererParameters): Deliverer {
  const lookup = allowPrivateTargets ? undefined : guardedLookup;
  const agents = {
    "http:": new http.Agent({ keepAlive: true, maxSockets: 16, lookup } as http.AgentOptions),
    "https:": new https.Agent({ keepAlive: true, maxSockets: 16, lookup } as https.AgentOptions),
  };
  return {
    async deliver({ url, headers, body }) {
      const started = performance.now();
      let answer = "";
      const done = (status: number | null, error: string | null, retryable = true): DeliveryResult => ({
        status,
        body: answer,
        error,
        retryable,
        durationMs: performance.now() - started,
      });
      let u: URL;
      try {
        u = new URL(url);
        if (u.protocol !== "http:" && u.protocol !== "https:")
          throw new WebhookTargetRefusedError(`Notify URL must be http(s), not ${u.protocol}`);
        if (!allowPrivateTargets) checkLiteralHost(u.hostname);
      } catch (e) {
        const msg = e instanceof WebhookTargetRefusedError ? e.message : `Notify URL "${url}" is not a valid URL`;
        return done(null, msg, false);
      }
      const lib = u.protocol === "https:" ? https : http;
      return new Promise<DeliveryResult>((resolve) => {
        let settled = false;
        const finish = (r: DeliveryResult) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(r);
        };
        const req = lib.request(
          u,
          {
            method: "POST",
            agent: agents[u.protocol as "http:" | "https:"],
            ...(lookup ? { lookup } : {}),
            headers: { ...headers, "content-length": Buffer.byteLength(body), "user-agent": "evm-pay-gateway-webhooks/1" },
          },
          (res) => {
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => {
              if (answer.length < 1024) answer += chunk.slice(0, 1024 - answer.length);
            });
            res.on("end", () => finish(done(res.statusCode ?? null, null)));
            res.on("error", (err) => finish(done(res.statusCode ?? null, `response aborted: ${err.message}`)));
          },
        );
        const timer = setTimeout(() => {
          req.destroy(new BaseError(`no complete answer within ${timeoutMs} ms`, { retryable: true }));
        }, timeoutMs);
        req.on("error", (err: NodeJS.ErrnoException) => {
          if (err instanceof WebhookTargetRefusedError) return finish(done(null, err.message, false));
          const code = err.code ? `${err.code}: ` : "";
          finish(done(null, `${code}${err.message}`));
        });
        req.end(body);
      });
    },
    close() {
      agents["http:"].destroy();
      agents["https:"].destroy();
    },
  };
}
