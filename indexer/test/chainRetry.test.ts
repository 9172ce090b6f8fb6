/**
 * Rate limits and RPC errors over real HTTP: a scripted JSON-RPC endpoint on 127.0.0.1 answers HTTP 429,
 * a JSON-RPC -32005 rate limit, 503 and a dropped connection before the real answer; the RPC client retries
 * each with growing backoff and returns the answer (nothing skipped). A -32005 "too many results" on
 * eth_getLogs is a range refusal (split by the sync, not retried as is); a bad request is not retried.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type net from "node:net";
import { after, before, describe, it } from "node:test";
import { LogRangeTooLargeError, RpcCallError } from "../src/chain/errors.js";
import { createRpc } from "../src/chain/rpc.js";

type Step = "429" | "rate-32005" | "503" | "drop" | "range-32005" | "bad-32602" | "ok";
let script: Step[] = [];
let served: { method: string; step: Step }[] = [];
let server: http.Server;
let url: string;

before(async () => {
  server = http.createServer(async (req, res) => {
    let body = "";
    for await (const c of req) body += c;
    const msg = JSON.parse(body) as { id: number; method: string };
    const step = script.shift() ?? "ok";
    served.push({ method: msg.method, step });
    const rpcError = (code: number, message: string) =>
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ jsonrpc: "2.0", id: msg.id, error: { code, message } }));
    if (step === "429") res.writeHead(429, { "content-type": "text/plain", "retry-after": "1" }).end("Too Many Requests");
    else if (step === "503") res.writeHead(503).end("unavailable");
    else if (step === "drop") req.socket.destroy();
    else if (step === "rate-32005") rpcError(-32005, "daily request count exceeded, request rate limited");
    else if (step === "range-32005") rpcError(-32005, "query returned more than 10000 results");
    else if (step === "bad-32602") rpcError(-32602, "invalid argument 0: hex string without 0x prefix");
    else {
      const result =
        msg.method === "eth_getLogs"
          ? [{ address: "0x01", topics: [], data: "0x", blockNumber: "0x5", blockHash: "0xab", transactionHash: "0xcd", logIndex: "0x0" }]
          : "0x10";
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: msg.id, result }));
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

describe("RPC retries and rate limits", () => {
  it("retries HTTP 429, JSON-RPC -32005 rate limits, 503 and dropped connections with growing backoff, then answers", async () => {
    script = ["429", "rate-32005", "503", "drop", "429", "ok"];
    served = [];
    const retries: { attempt: number; delayMs: number }[] = [];
    const rpc = createRpc({ chainId: 1, url, retry: { baseDelayMs: 20, maxDelayMs: 1_000, onRetry: (i) => retries.push(i) } });
    assert.equal(await rpc.blockNumber(), 16n);
    assert.deepEqual(
      served.map((s) => s.step),
      ["429", "rate-32005", "503", "drop", "429", "ok"],
    );
    assert.deepEqual(
      retries.map((r) => r.attempt),
      [1, 2, 3, 4, 5],
    );
    // full jitter over a doubling ceiling, never below a tenth of it: attempt 5's ceiling is 320 ms
    retries.forEach((r) => assert.ok(r.delayMs >= 2 * 2 ** (r.attempt - 1) && r.delayMs <= 20 * 2 ** (r.attempt - 1), JSON.stringify(r)));
  });

  it("retries a rate-limited eth_getLogs as the same range, and returns its logs", async () => {
    script = ["rate-32005", "429", "ok"];
    served = [];
    const rpc = createRpc({ chainId: 1, url, retry: { baseDelayMs: 5 } });
    const logs = await rpc.getLogs({ fromBlock: 1n, toBlock: 9n });
    assert.equal(logs.length, 1);
    assert.equal(served.length, 3);
  });

  it("reports a -32005 'too many results' on eth_getLogs as a range refusal at once, and does not retry a bad request", async () => {
    script = ["range-32005"];
    served = [];
    const rpc = createRpc({ chainId: 1, url, retry: { baseDelayMs: 5 } });
    await assert.rejects(rpc.getLogs({ fromBlock: 1n, toBlock: 20_000n }), LogRangeTooLargeError);
    assert.equal(served.length, 1);
    script = ["bad-32602"];
    served = [];
    await assert.rejects(rpc.blockNumber(), (e: unknown) => e instanceof RpcCallError && !e.retryable);
    assert.equal(served.length, 1);
  });

  it("stops retrying when the follower is stopped (abort), instead of hanging on a rate limit", async () => {
    script = Array(1000).fill("429");
    served = [];
    const abort = new AbortController();
    const rpc = createRpc({ chainId: 1, url, retry: { baseDelayMs: 20, signal: abort.signal } });
    setTimeout(() => abort.abort(), 150);
    await assert.rejects(rpc.blockNumber(), RpcCallError);
    assert.ok(served.length >= 2 && served.length < 20, `${served.length} attempts`);
    script = [];
  });
});
