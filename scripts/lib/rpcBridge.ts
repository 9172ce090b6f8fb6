/**
 * Serves an in-process EIP-1193 provider (a Hardhat network connection) as JSON-RPC over HTTP on
 * 127.0.0.1, so the gateway's chain follower and money movers talk to the demo's in-process chain exactly
 * as they talk to a real node: over HTTP, with the same client code. Batches are answered in order.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export type Eip1193 = { request(args: { method: string; params?: unknown[] }): Promise<unknown> };
export type RpcBridge = { url: string; close(): Promise<void> };

export async function startRpcBridge(provider: Eip1193, port = 0): Promise<RpcBridge> {
  const answer = async (msg: { id?: unknown; method?: string; params?: unknown[] }) => {
    try {
      const result = await provider.request({ method: String(msg.method), params: msg.params ?? [] });
      return { jsonrpc: "2.0", id: msg.id ?? null, result: result ?? null };
    } catch (e: any) {
      const code = typeof e?.code === "number" ? e.code : -32603;
      return { jsonrpc: "2.0", id: msg.id ?? null, error: { code, message: String(e?.message ?? e), data: e?.data } };
    }
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } }));
        return;
      }
      const out = Array.isArray(body) ? await Promise.all(body.map(answer)) : await answer(body);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(out, (_k, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v)));
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
