/** Chain follower pieces without a node: watched set, hand decoding, RPC error classification, retry. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { existsSync, readFileSync } from "node:fs";
import {
  decodeEventLog,
  encodeAbiParameters,
  encodeEventTopics,
  getAddress,
  parseAbi,
  toEventSelector,
  type AbiEvent,
  type Hex,
} from "viem";
import { HttpRequestError, RpcRequestError, TimeoutError } from "viem";
import { InternalRpcError, InvalidParamsRpcError, LimitExceededRpcError } from "viem";
import {
  VAULT_EVENTS_ABI,
  VAULT_EVENT_TOPICS,
  addressToTopic,
  decodeNativeLog,
  decodeTransfer,
  decodeVaultEvent,
  TRANSFER_TOPIC,
} from "../src/chain/decode.js";
import { collectLogs, createSpec } from "../src/chain/collect.js";
import { createLocalChain } from "../src/chain/realtime.js";
import { withRetry } from "../src/chain/retry.js";
import { isRangeError, isRetryableRpcFailure, suggestedRange, type RawLog } from "../src/chain/rpc.js";
import { valueFramesOfCallTree, valueFramesOfParityTraces } from "../src/chain/traces.js";
import { createWatchedSet } from "../src/chain/watchedSet.js";

const hex = (n: number) => `0x${randomBytes(n).toString("hex")}`;
const ERC20 = parseAbi(["event Transfer(address indexed from, address indexed to, uint256 value)"]);

function log(p: Partial<RawLog> & Pick<RawLog, "address" | "topics">): RawLog {
  return { data: "0x", blockNumber: "0x10", blockHash: hex(32), transactionHash: hex(32), logIndex: "0x3", ...p };
}

describe("watched set", () => {
  it("agrees with a Set<string> on 50,000 random addresses, in any case and from topics", () => {
    const w = createWatchedSet(4);
    const ref = new Set<string>();
    for (let i = 0; i < 50_000; i++) {
      const a = hex(20);
      ref.add(a);
      assert.equal(w.add(i % 2 ? getAddress(a) : a), true);
    }
    // vanity addresses with long zero prefixes must not collide into one bucket chain
    for (let i = 1; i <= 1000; i++) {
      const a = `0x${"0".repeat(30)}${i.toString(16).padStart(10, "0")}`;
      ref.add(a);
      w.add(a);
    }
    assert.equal(w.size, ref.size);
    assert.equal(w.add([...ref][7]!.toUpperCase().replace("0X", "0x")), false, "already there");
    for (const a of ref) {
      assert.ok(w.has(a) && w.has(a.slice(2)) && w.hasTopic(addressToTopic(a)));
    }
    for (let i = 0; i < 50_000; i++) assert.equal(w.has(hex(20)), false);
    assert.equal(w.has("0x1234"), false);
    assert.equal(w.has("0x" + "zz".repeat(20)), false);
    assert.equal(w.hasTopic("0x" + "00".repeat(32)), false);
    assert.throws(() => w.add("0xabc"), TypeError);
    assert.deepEqual(new Set(w.values()), ref);
  });
});

describe("log decoding by hand", () => {
  const token = hex(20);
  const from = hex(20);
  const to = hex(20);

  it("decodes a Transfer like viem does, lowercase", () => {
    const topics = encodeEventTopics({ abi: ERC20, eventName: "Transfer", args: { from: from as Hex, to: to as Hex } }) as string[];
    const data = encodeAbiParameters([{ type: "uint256" }], [2n ** 255n + 5n]);
    const d = decodeTransfer(1, log({ address: token, topics, data }))!;
    const v = decodeEventLog({ abi: ERC20, topics: topics as [Hex], data });
    assert.equal(d.from, v.args!.from.toLowerCase());
    assert.equal(d.to, v.args!.to.toLowerCase());
    assert.equal(d.amount, v.args!.value);
    assert.equal(d.logIndex, 3);
    assert.equal(d.blockNumber, 16n);
    assert.equal(d.source, "erc20");
    assert.equal(decodeTransfer(1, log({ address: token, topics: [...topics, hex(32)], data: "0x" })), undefined, "ERC-721");
    assert.equal(decodeTransfer(1, log({ address: token, topics, data: encodeAbiParameters([{ type: "uint256" }], [0n]) })), undefined);
  });

  it("decodes the deposit address LOG3 and the vault's events", () => {
    const vault = hex(20);
    const d = decodeNativeLog(
      1,
      log({ address: to, topics: [addressToTopic(vault), addressToTopic(from), `0x${(10n ** 18n).toString(16).padStart(64, "0")}`] }),
    )!;
    assert.deepEqual(
      [d.to, d.from, d.amount, d.token, d.source],
      [to, from, 10n ** 18n, "0x0000000000000000000000000000000000000000", "native_log"],
    );
    const topics = encodeEventTopics({
      abi: VAULT_EVENTS_ABI,
      eventName: "Swept",
      args: { merchantId: 7n, token: getAddress(token) },
    }) as string[];
    const e = decodeVaultEvent(
      1,
      log({ address: vault, topics, data: encodeAbiParameters([{ type: "uint256" }, { type: "uint256" }], [1000n, 10n]) }),
    )!;
    assert.deepEqual(e.args, { merchantId: "7", token, amount: "1000", fee: "10" });
    assert.equal(decodeVaultEvent(1, log({ address: vault, topics: [hex(32)] })), undefined);
  });

  it("keeps only deposits to watched addresses from allow-listed tokens, deposit-address receipts and vault events", () => {
    const vault = hex(20);
    const otherToken = hex(20);
    const watchedAddr = hex(20);
    const watched = createWatchedSet();
    watched.add(watchedAddr);
    const spec = createSpec({ chainId: 1, vault, tokens: [{ address: token }, { address: "0x0000000000000000000000000000000000000000" }] });
    const value = encodeAbiParameters([{ type: "uint256" }], [5n]);
    const t = (addr: string, recipient: string) =>
      log({ address: addr, topics: [TRANSFER_TOPIC, addressToTopic(from), addressToTopic(recipient)], data: value });
    const r = collectLogs(spec, watched, [
      t(token, watchedAddr), // kept
      t(token, hex(20)), // not watched
      t(otherToken, watchedAddr), // token not allowed
      log({ address: watchedAddr, topics: [addressToTopic(vault), addressToTopic(from), addressToTopic("0x" + "00".repeat(19) + "07")] }), // kept
      log({ address: hex(20), topics: [addressToTopic(vault), addressToTopic(from), addressToTopic("0x" + "00".repeat(19) + "07")] }), // forged receipt
      { ...t(token, watchedAddr), removed: true },
    ]);
    assert.deepEqual(
      r.deposits.map((d) => d.source),
      ["erc20", "native_log"],
    );
    assert.equal(r.logCount, 6);
  });
});

describe("vault event ABI", () => {
  it("matches every event IPaymentVault declares (the compiled interface), selector for selector", (t) => {
    const file = new URL("../../artifacts/contracts/interfaces/IPaymentVault.sol/IPaymentVault.json", import.meta.url);
    if (!existsSync(file)) return t.skip("no compiled IPaymentVault (run `npx hardhat build`)");
    const abi = JSON.parse(readFileSync(file, "utf8")).abi as AbiEvent[];
    const declared = abi
      .filter((e) => e.type === "event")
      .map((e) => toEventSelector(e))
      .sort();
    assert.deepEqual(declared, [...VAULT_EVENT_TOPICS].sort());
  });
});

describe("RPC error classification", () => {
  const url = "http://rpc.test";
  it("treats network failures, timeouts, 429 and 5xx as retryable and bad requests as not", () => {
    assert.ok(isRetryableRpcFailure(new HttpRequestError({ url, status: 503 })));
    assert.ok(isRetryableRpcFailure(new HttpRequestError({ url, status: 429 })));
    assert.ok(isRetryableRpcFailure(new HttpRequestError({ url, cause: new TypeError("fetch failed") })));
    assert.ok(isRetryableRpcFailure(new TimeoutError({ body: {}, url })));
    assert.ok(isRetryableRpcFailure(new InternalRpcError(new Error("x"))));
    assert.ok(!isRetryableRpcFailure(new InvalidParamsRpcError(new Error("bad block tag"))));
    assert.ok(!isRetryableRpcFailure(new HttpRequestError({ url, status: 401 })));
  });

  it("recognises a refused getLogs range and the range the provider suggests", () => {
    const e = (message: string, code = -32005) => new RpcRequestError({ body: {}, url, error: { code, message } });
    assert.ok(isRangeError(new LimitExceededRpcError(e("query returned more than 10000 results"))));
    assert.ok(isRangeError(e("Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range", -32602)));
    assert.ok(isRangeError(e("block range is too wide", -32000)));
    assert.ok(!isRangeError(e("execution reverted", 3)));
    assert.equal(suggestedRange(e("Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range")), 2000n);
    assert.equal(suggestedRange(e("query returned more than 10000 results. Try with this block range [0x10, 0x1f].")), 16n);
    assert.equal(suggestedRange(e("too many results")), undefined);
  });

  it("retries with backoff until success, and not what is not retryable", async () => {
    let n = 0;
    const delays: number[] = [];
    const v = await withRetry(
      async () => (++n < 4 ? Promise.reject(new Error("flaky")) : "ok"),
      () => true,
      {
        baseDelayMs: 1,
        onRetry: (i) => delays.push(i.delayMs),
      },
    );
    assert.equal(v, "ok");
    assert.equal(delays.length, 3);
    let m = 0;
    await assert.rejects(
      withRetry(
        async () => (m++, Promise.reject(new Error("fatal"))),
        () => false,
      ),
      /fatal/,
    );
    assert.equal(m, 1);
  });
});

describe("local chain window", () => {
  it("pushes, truncates to an ancestor and prunes but keeps the tip", () => {
    const b = (n: bigint) => ({ number: n, hash: `0x${n}`, parentHash: `0x${n - 1n}` });
    const c = createLocalChain([b(5n)]);
    for (let n = 6n; n <= 10n; n++) c.push(b(n));
    assert.throws(() => c.push(b(10n)));
    c.truncate(8n);
    assert.equal(c.tip().number, 8n);
    assert.equal(c.get(9n), undefined);
    c.prune(100n);
    assert.equal(c.length, 1);
    assert.equal(c.first().number, 8n);
  });
});

describe("internal transfers in traces", () => {
  const A = "0x00000000000000000000000000000000000000aa";
  const B = "0x00000000000000000000000000000000000000bb";
  const W = "0x00000000000000000000000000000000000000ee"; // a watched deposit address

  it("call tracer: only successful value frames below the top level, a revert undoing its whole subtree, ranked in pre-order", () => {
    const tree = {
      type: "CALL",
      from: A,
      to: B,
      value: "0x5", // the top-level call: the native_tx row's, not a frame here
      calls: [
        { type: "CALL", from: B, to: W, value: "0x1" },
        { type: "DELEGATECALL", from: B, to: A, value: "0x9" }, // moves nothing
        { type: "STATICCALL", from: B, to: A },
        {
          type: "CALL",
          from: B,
          to: A,
          value: "0x0",
          calls: [
            { type: "CALL", from: A, to: W, value: "0x2" },
            { type: "SELFDESTRUCT", from: A, to: W, value: "0x3" },
          ],
        },
        {
          type: "CALL",
          from: B,
          to: A,
          value: "0x7",
          error: "execution reverted",
          calls: [{ type: "CALL", from: A, to: W, value: "0x8" }],
        },
        { type: "CALL", from: B, to: W, value: "0x4", error: "out of gas" },
        { type: "CREATE2", from: B, to: W, value: "0x6" },
      ],
    };
    assert.deepEqual(
      valueFramesOfCallTree(tree).map((f) => [f.rank, f.from, f.to, f.value]),
      [
        [0, B, W, 1n],
        [1, A, W, 2n],
        [2, A, W, 3n],
        [3, B, W, 6n],
      ],
    );
    assert.deepEqual(valueFramesOfCallTree({ ...tree, error: "reverted" }), [], "a failed transaction moved nothing");
  });

  it("trace_block gives the same frames and ranks, in any order, nested reverts skipped", () => {
    const t = (traceAddress: number[], action: object, extra: object = {}) => ({
      type: "call",
      action,
      traceAddress,
      transactionHash: "0x01",
      ...extra,
    });
    const traces = [
      t([3], { callType: "call", from: B, to: A, value: "0x7" }, { error: "Reverted" }),
      t([3, 0], { callType: "call", from: A, to: W, value: "0x8" }),
      t([], { callType: "call", from: A, to: B, value: "0x5" }),
      t([1, 0], { callType: "call", from: A, to: W, value: "0x2" }),
      t([0], { callType: "call", from: B, to: W, value: "0x1" }),
      t([1], { callType: "call", from: B, to: A, value: "0x0" }),
      t([1, 1], { address: A, refundAddress: W, balance: "0x3" }, { type: "suicide" }),
      t([2], { callType: "delegatecall", from: B, to: A, value: "0x9" }),
      t([4], { from: B, value: "0x6" }, { type: "create", result: { address: W } }),
    ];
    assert.deepEqual(
      valueFramesOfParityTraces(traces).map((f) => [f.rank, f.from, f.to, f.value]),
      [
        [0, B, W, 1n],
        [1, A, W, 2n],
        [2, A, W, 3n],
        [3, B, W, 6n],
      ],
    );
  });

  it("token transfers from watched addresses and native sweeps are outflows", () => {
    const w = createWatchedSet();
    w.add(W);
    const token = "0x00000000000000000000000000000000000000cc";
    const vault = "0x00000000000000000000000000000000000000dd";
    const spec = createSpec({ chainId: 1, vault, tokens: [{ address: token }, { address: "0x0000000000000000000000000000000000000000" }] });
    const amount = `0x${500n.toString(16).padStart(64, "0")}`;
    const out = log({ address: token, topics: [TRANSFER_TOPIC, addressToTopic(W), addressToTopic(vault)], data: amount });
    const swept = encodeEventTopics({ abi: VAULT_EVENTS_ABI, eventName: "NativeSwept", args: { depositAddress: W as Hex } });
    const c = collectLogs(spec, w, [
      out,
      log({ address: vault, topics: swept as string[], data: encodeAbiParameters([{ type: "uint256" }], [9n]) }),
    ]);
    assert.equal(c.deposits.length, 0);
    assert.deepEqual(
      c.outflows.map((o) => [o.source, o.token, o.from, o.to, o.amount]),
      [
        ["erc20", token, W, vault, 500n],
        ["native_swept", "0x0000000000000000000000000000000000000000", W, vault, 9n],
      ],
    );
  });
});
