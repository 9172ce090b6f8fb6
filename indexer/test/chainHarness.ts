/**
 * Test harness for the chain follower: a `hardhat node` child on a free 127.0.0.1 port, contract
 * deployment with viem from the Hardhat artifacts, and an RPC fault proxy.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import {
  concatHex,
  createPublicClient,
  createWalletClient,
  encodeDeployData,
  getContractAddress,
  http as httpTransport,
  keccak256,
  toHex,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { CREATE2_PROXY, CREATE2_PROXY_RUNTIME } from "../../scripts/lib/deploy.js";
import { depositAddress, depositSalt, DepositKind } from "../src/domain/depositAddress.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

/** The hardhat node's account `index` (0 is the fixture's admin) and its private key. */
export function hardhatAccount(index: number) {
  const account = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: index });
  return { account, key: `0x${Buffer.from(account.getHdKey().privateKey!).toString("hex")}` as Hex };
}

/** Polls `read` every 100 ms until `ok` holds; fails with the last value after `ms`. */
export async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end)
      assert.fail(`timed out waiting for ${what}: ${JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export type HardhatNode = { url: string; stop(): void; rpc<T = any>(method: string, params?: unknown[]): Promise<T> };

/** Starts `npx hardhat node` (chain id 31337 unless `chainId`) in its own process group and waits for its RPC. */
export async function startHardhatNode(o: { chainId?: number } = {}): Promise<HardhatNode> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith("HARDHAT_") && k !== "NODE_ENV" && !k.startsWith("NODE_TEST")) env[k] = v;
  const args = ["hardhat", "node", "--port", String(port), ...(o.chainId !== undefined ? ["--chain-id", String(o.chainId)] : [])];
  const child: ChildProcess = spawn("npx", args, { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d) => (output = (output + d).slice(-4000)));
  child.stderr!.on("data", (d) => (output = (output + d).slice(-4000)));
  const rpc = async <T>(method: string, params: unknown[] = [], attempt = 1): Promise<T> => {
    let body: { result?: T; error?: { message: string } };
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      });
      body = (await res.json()) as typeof body;
    } catch (e) {
      // a kept-alive socket the node closed meanwhile: once more on a new one
      if (attempt < 3 && child.exitCode === null) return rpc<T>(method, params, attempt + 1);
      throw e;
    }
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result as T;
  };
  const stop = () => {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await rpc("eth_chainId");
      break;
    } catch {
      if (child.exitCode !== null || Date.now() > deadline) {
        stop();
        throw new Error(`hardhat node did not start on ${url}:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { url, stop, rpc };
}

type Artifact = { abi: Abi; bytecode: Hex };
const COVERAGE_MARKER = "c0bec0bec0bec0bec0bec0bec0bec0bec0bec0be";

/**
 * The Hardhat artifact, unless a `hardhat test --coverage` run left it instrumented (too large to deploy
 * on a plain node): then the two contracts are compiled here with the pinned solc npm package, cached in
 * the OS temp directory by source hash.
 */
export function artifact(rel: string): Artifact {
  const file = path.join(ROOT, "artifacts", rel);
  if (existsSync(file)) {
    const a = JSON.parse(readFileSync(file, "utf8"));
    if (!a.bytecode.includes(COVERAGE_MARKER)) return { abi: a.abi, bytecode: a.bytecode };
  }
  const name = path.basename(rel, ".json");
  const compiled = compileClean();
  const c = compiled[name];
  if (!c) throw new Error(`no clean build of ${name}`);
  return c;
}

let clean: Record<string, Artifact> | undefined;
function compileClean(): Record<string, Artifact> {
  if (clean) return clean;
  const sources = [
    "contracts/PaymentVault.sol",
    "contracts/mocks/MockERC20.sol",
    "contracts/mocks/MockAggregatorV3.sol",
    "contracts/mocks/TestWallets.sol",
  ];
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const f of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, f.name);
      if (f.isDirectory()) walk(p);
      else if (f.name.endsWith(".sol")) hash.update(p).update(readFileSync(p));
    }
  };
  walk(path.join(ROOT, "contracts"));
  const cacheFile = path.join(tmpdir(), `chain-test-artifacts-${hash.digest("hex").slice(0, 16)}.json`);
  if (existsSync(cacheFile)) return (clean = JSON.parse(readFileSync(cacheFile, "utf8")));
  const require = createRequire(path.join(ROOT, "package.json"));
  const solc = require("solc");
  const input = {
    language: "Solidity",
    sources: Object.fromEntries(sources.map((s) => [s, { content: readFileSync(path.join(ROOT, s), "utf8") }])),
    settings: {
      evmVersion: "cancun",
      optimizer: { enabled: true, runs: 10_000 },
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
    },
  };
  const findImports = (p: string) => {
    for (const base of [ROOT, path.join(ROOT, "node_modules")]) {
      if (existsSync(path.join(base, p))) return { contents: readFileSync(path.join(base, p), "utf8") };
    }
    return { error: `not found: ${p}` };
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (out.errors ?? []).filter((e: { severity: string }) => e.severity === "error");
  if (errors.length) throw new Error(errors.map((e: { formattedMessage: string }) => e.formattedMessage).join("\n"));
  clean = {};
  for (const s of sources) {
    for (const [name, c] of Object.entries<any>(out.contracts[s])) clean[name] = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
  }
  writeFileSync(cacheFile + `.${process.pid}`, JSON.stringify(clean));
  renameSync(cacheFile + `.${process.pid}`, cacheFile);
  return clean;
}

export type Fixture = {
  node: HardhatNode;
  publicClient: PublicClient;
  wallet: WalletClient;
  accounts: Address[];
  admin: Address;
  payer: Address;
  vault: Address;
  token: Address;
  vaultAbi: Abi;
  tokenAbi: Abi;
  merchantId: bigint;
  /** payment deposit address `key` of the fixture's merchant (lowercase) */
  paymentAddress(key: bigint): Address;
  paymentSalt(key: bigint): bigint;
  /**
   * Deploys `NativeSender` (contracts/mocks/TestWallets.sol), a contract that forwards the native coin with
   * `call`: its payments are internal transfers (no top-level transaction to the recipient).
   */
  deployNativeSender(): Promise<Address>;
  /** `from` (default: payer) pays `amount` through a NativeSender to `to`: an internal transfer; returns the receipt */
  forwardNative(sender: Address, to: Address, amount: bigint, from?: Address): Promise<{ blockNumber: bigint; transactionHash: Hex }>;
  /** sends a transaction from `from` (default: payer), mined by automine; returns the receipt */
  send(p: {
    from?: Address;
    to: Address;
    value?: bigint;
    data?: Hex;
    gas?: bigint;
  }): Promise<{ status: string; blockNumber: bigint; transactionHash: Hex }>;
  write(
    to: Address,
    abi: Abi,
    functionName: string,
    args: unknown[],
    from?: Address,
  ): Promise<{ blockNumber: bigint; transactionHash: Hex }>;
  mint(to: Address, amount: bigint): Promise<{ blockNumber: bigint; transactionHash: Hex }>;
  mine(blocks?: number): Promise<void>;
  blockNumber(): Promise<bigint>;
};

/**
 * Deploys the vault (merchant 1 registered, a MockERC20 "USDT" with 6 decimals allowed, native allowed).
 * `deterministic`: the vault and the token go through the deterministic deployment proxy (installed with
 * `hardhat_setCode`, as scripts/lib/deploy.ts does on a local chain) with fixed salts, so two nodes get
 * them at the same addresses, and so the same deposit addresses.
 */
export async function deployFixture(node: HardhatNode, o: { deterministic?: boolean } = {}): Promise<Fixture> {
  const publicClient = createPublicClient({ transport: httpTransport(node.url), cacheTime: 0 }) as PublicClient;
  const wallet = createWalletClient({ transport: httpTransport(node.url) });
  const accounts = (await node.rpc<Address[]>("eth_accounts")).slice(0, 6);
  const [admin, payer] = accounts as [Address, Address];

  const receipt = async (hash: Hex) => {
    const r = await node.rpc<{ status: string; blockNumber: string; contractAddress: Address | null; transactionHash: Hex } | null>(
      "eth_getTransactionReceipt",
      [hash],
    );
    if (!r) throw new Error(`no receipt for ${hash}: is automine on?`);
    return r;
  };
  const deploy = async (rel: string, args: unknown[]) => {
    const { abi, bytecode } = artifact(rel);
    if (o.deterministic) {
      const initCode = encodeDeployData({ abi, bytecode, args });
      const salt = keccak256(toHex(`chain-test/${rel}`));
      const address = getContractAddress({ opcode: "CREATE2", from: CREATE2_PROXY, salt, bytecode: initCode }).toLowerCase() as Address;
      if ((await node.rpc<string>("eth_getCode", [address, "latest"])) === "0x") {
        if ((await node.rpc<string>("eth_getCode", [CREATE2_PROXY, "latest"])) === "0x")
          await node.rpc("hardhat_setCode", [CREATE2_PROXY, CREATE2_PROXY_RUNTIME]);
        const hash = await wallet.sendTransaction({ account: admin, to: CREATE2_PROXY, data: concatHex([salt, initCode]), chain: null });
        if ((await receipt(hash)).status !== "0x1" || (await node.rpc<string>("eth_getCode", [address, "latest"])) === "0x") {
          throw new Error(`deterministic deploy of ${rel} failed`);
        }
      }
      return { address, abi };
    }
    const hash = await wallet.deployContract({ abi, bytecode, args, account: admin, chain: null });
    const r = await receipt(hash);
    if (r.status !== "0x1" || !r.contractAddress) throw new Error(`deploy of ${rel} failed`);
    return { address: r.contractAddress, abi };
  };
  const vault = await deploy("contracts/PaymentVault.sol/PaymentVault.json", [admin, admin, admin]);
  const token = await deploy("contracts/mocks/MockERC20.sol/MockERC20.json", ["Tether USD", "USDT", 6]);

  const write = async (to: Address, abi: Abi, functionName: string, args: unknown[], from: Address = admin) => {
    const hash = await wallet.writeContract({ address: to, abi, functionName, args, account: from, chain: null });
    const r = await receipt(hash);
    if (r.status !== "0x1") throw new Error(`${functionName} reverted`);
    return { blockNumber: BigInt(r.blockNumber), transactionHash: r.transactionHash };
  };
  const merchantId = 1n;
  await write(vault.address, vault.abi, "registerMerchant", [merchantId, admin, 100]);
  await write(vault.address, vault.abi, "setTokenAllowed", [token.address, true]);
  await write(vault.address, vault.abi, "setTokenAllowed", ["0x0000000000000000000000000000000000000000", true]);

  return {
    node,
    publicClient,
    wallet,
    accounts,
    admin,
    payer,
    vault: vault.address,
    token: token.address,
    vaultAbi: vault.abi,
    tokenAbi: token.abi,
    merchantId,
    paymentAddress: (key) => depositAddress({ vault: vault.address, merchantId, kind: DepositKind.Payment, key }).toLowerCase() as Address,
    paymentSalt: (key) => depositSalt(merchantId, DepositKind.Payment, key),
    async deployNativeSender() {
      return (await deploy("contracts/mocks/TestWallets.sol/NativeSender.json", [])).address;
    },
    async forwardNative(sender, to, amount, from = payer) {
      const { abi } = artifact("contracts/mocks/TestWallets.sol/NativeSender.json");
      const hash = await wallet.writeContract({
        address: sender,
        abi,
        functionName: "sendWithGas",
        args: [to, 100_000n],
        value: amount,
        account: from,
        chain: null,
      });
      const r = await receipt(hash);
      if (r.status !== "0x1") throw new Error("forwardNative reverted");
      return { blockNumber: BigInt(r.blockNumber), transactionHash: r.transactionHash };
    },
    async send({ from = payer, to, value, data, gas }) {
      let hash: Hex;
      if (gas !== undefined) {
        // may fail on purpose: hardhat answers a failing transaction with an error under automine, so mine by hand
        await node.rpc("evm_setAutomine", [false]);
        try {
          const hex = (n?: bigint) => (n === undefined ? undefined : `0x${n.toString(16)}`);
          hash = await node.rpc<Hex>("eth_sendTransaction", [{ from, to, value: hex(value), data, gas: hex(gas) }]);
          await node.rpc("evm_mine");
        } finally {
          await node.rpc("evm_setAutomine", [true]);
        }
      } else {
        hash = await wallet.sendTransaction({ account: from, to, value, data, chain: null });
      }
      const r = await receipt(hash);
      return { status: r.status, blockNumber: BigInt(r.blockNumber), transactionHash: r.transactionHash };
    },
    write,
    mint: (to, amount) => write(token.address, token.abi, "mint", [to, amount]),
    async mine(blocks = 1) {
      await node.rpc("hardhat_mine", [`0x${blocks.toString(16)}`]);
    },
    async blockNumber() {
      return BigInt(await node.rpc<string>("eth_blockNumber"));
    },
  };
}

export type FaultProxy = {
  url: string;
  /** requests seen, and faults injected by kind */
  stats: { requests: number; failed: number; delayed: number; dropped: number; tooLarge: number; hung: number };
  /** changes the faults from the next request on (e.g. `{ failRate: 1 }`: the RPC is down) */
  set(o: Partial<FaultOptions>): void;
  close(): Promise<void>;
};

export type FaultOptions = {
  /** share answered with HTTP 500/502/503/429 */
  failRate?: number;
  /** share delayed by up to `maxDelayMs` */
  delayRate?: number;
  maxDelayMs?: number;
  /** share whose connection is destroyed without an answer */
  dropRate?: number;
  /** share never answered (the client's timeout must fire) */
  hangRate?: number;
  /** eth_getLogs ranges wider than this are refused like a provider's "more than 10000 results" */
  maxLogRange?: number;
  /** deterministic faults */
  seed?: number;
  /** answers to eth_getLogs are emptied (an RPC that drops logs: the follower misses them) */
  dropLogs?: boolean;
};

/** A tiny HTTP proxy on 127.0.0.1 that fails, delays, drops or hangs a share of JSON-RPC requests. */
export async function startFaultProxy(target: string, options: FaultOptions): Promise<FaultProxy> {
  const o = { ...options };
  let s = o.seed ?? 1;
  const random = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), s / 2 ** 32);
  const stats = { requests: 0, failed: 0, delayed: 0, dropped: 0, tooLarge: 0, hung: 0 };
  const hung = new Set<http.ServerResponse>();
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    stats.requests++;
    const r = random();
    let edge = o.failRate ?? 0;
    if (r < edge) {
      stats.failed++;
      const status = [500, 502, 503, 429][Math.floor(random() * 4)]!;
      res.writeHead(status, { "content-type": "text/plain" }).end("injected failure");
      return;
    }
    if (r < (edge += o.dropRate ?? 0)) {
      stats.dropped++;
      req.socket.destroy();
      return;
    }
    if (r < (edge += o.hangRate ?? 0)) {
      stats.hung++;
      hung.add(res);
      return;
    }
    if (r < edge + (o.delayRate ?? 0)) {
      stats.delayed++;
      await new Promise((done) => setTimeout(done, random() * (o.maxDelayMs ?? 200)));
    }
    if (o.maxLogRange !== undefined) {
      const parsed = JSON.parse(body);
      const one = Array.isArray(parsed) ? undefined : parsed;
      const f = one?.method === "eth_getLogs" ? one.params?.[0] : undefined;
      if (f?.fromBlock && f?.toBlock && BigInt(f.toBlock) - BigInt(f.fromBlock) + 1n > BigInt(o.maxLogRange)) {
        stats.tooLarge++;
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ jsonrpc: "2.0", id: one.id, error: { code: -32005, message: "query returned more than 10000 results" } }));
        return;
      }
    }
    try {
      const upstream = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body });
      let text = await upstream.text();
      if (o.dropLogs) {
        const parsed = JSON.parse(text);
        const strip = (r: { result?: unknown }, q: { method?: string }) =>
          q?.method === "eth_getLogs" && Array.isArray(r.result) ? { ...r, result: [] } : r;
        const request = JSON.parse(body);
        text = JSON.stringify(Array.isArray(parsed) ? parsed.map((r, i) => strip(r, request[i])) : strip(parsed, request));
      }
      res.writeHead(upstream.status, { "content-type": "application/json" }).end(text);
    } catch {
      res.writeHead(502).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    set: (change) => Object.assign(o, change),
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hung) res.socket?.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Test tooling for throughput runs: `hardhat_setCode` installs 69 bytes of hand-written EVM code at `address`
 * that, called with calldata `n ‖ base` (two 32-byte words), emits `n` ERC-20 `Transfer(caller, base + i, 1)`
 * LOG3s for i = n..1 in a loop (~1,820 gas a log). No contract source is involved: it only stands in for a
 * token that emits many transfers per transaction, so 100,000 logs take seconds to mine.
 */
const EMITTER_RUNTIME =
  "0x" +
  "602035" + // PUSH1 0x20 CALLDATALOAD        [base]
  "600035" + // PUSH1 0 CALLDATALOAD           [n, base]
  "6001600052" + // mem[0] = 1 (the amount)
  "5b" + // 0x0b JUMPDEST loop
  "8015610043" + // DUP1 ISZERO PUSH2 end
  "57" + // JUMPI
  "818101" + // DUP2 DUP2 ADD                  [to = base + n, n, base]
  "33" + // CALLER                             [from, to, n, base]
  "7fddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef" + // PUSH32 Transfer
  "60206000" + // PUSH1 32 PUSH1 0            [0, 32, topic0, from, to, n, base]
  "a3" + // LOG3
  "60019003" + // n - 1
  "600b56" + // JUMP loop
  "5b00"; // 0x43 end: STOP

export async function installTransferEmitter(node: HardhatNode, address: string): Promise<void> {
  await node.rpc("hardhat_setCode", [address, EMITTER_RUNTIME]);
}

/** Sends one transaction that emits `n` Transfers to `base + n` … `base + 1` (addresses as uint160); returns its hash. */
export function emitTransfers(node: HardhatNode, p: { emitter: string; from: string; n: number; base: bigint }): Promise<string> {
  const word = (v: bigint) => v.toString(16).padStart(64, "0");
  const data = `0x${word(BigInt(p.n))}${word(p.base)}`;
  return node.rpc<string>("eth_sendTransaction", [{ from: p.from, to: p.emitter, data, gas: `0x${(p.n * 2_000 + 100_000).toString(16)}` }]);
}

/** `base + i` as a lowercase address. */
export function addressAt(base: bigint, i: number): string {
  return `0x${(base + BigInt(i)).toString(16).padStart(40, "0")}`;
}

/** The PostgreSQL test server (TEST_DATABASE_URL; helpers.ts re-exports it as PG_URL). */
export const CHAIN_PG_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Whether the PostgreSQL test server answers (1 s timeout). */
export async function chainPostgresReachable(): Promise<boolean> {
  const { default: pg } = await import("pg");
  const c = new pg.Client({ connectionString: CHAIN_PG_URL, connectionTimeoutMillis: 1000 });
  try {
    await c.connect();
    await c.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

/**
 * The fixture's chain as a gateway config entry (chain 31337, its vault and USDT, from the current block on).
 * `balanceNet`: ETH accepted too (no traces, so the balance net reads open native orders' addresses every
 * block) and the slow cycle every `cycleMs`.
 */
export async function fixtureChainConfig(fx: Fixture, o: { confirmations: number; wsUrl?: string; balanceNet?: { cycleMs: number } }) {
  return {
    chainId: 31337,
    code: "local",
    name: "hardhat node",
    vault: fx.vault,
    rpcUrl: fx.node.url,
    ...(o.wsUrl ? { wsUrl: o.wsUrl } : {}),
    confirmations: o.confirmations,
    startBlock: Number(await fx.blockNumber()),
    tokens: [
      { symbol: "USDT", address: fx.token, decimals: 6 },
      ...(o.balanceNet ? [{ symbol: "ETH", address: "0x0000000000000000000000000000000000000000", decimals: 18 }] : []),
    ],
    ...(o.balanceNet ? { trace: "off", balancePoll: { cycleMs: o.balanceNet.cycleMs } } : {}),
  };
}

/**
 * The fixture's chain as the money-moving gateways of the tests configure it: depth 2, USDT (priced in wei for
 * the sweeper's worth-its-gas rule: 1 ETH = 3,000 USDT) and the native coin, from the current block.
 */
export async function moverChainConfig(fx: Fixture, name = "hardhat node") {
  return {
    chainId: 31337,
    code: "local",
    name,
    vault: fx.vault,
    confirmations: 2,
    rpcUrl: fx.node.url,
    startBlock: Number(await fx.blockNumber()),
    tokens: [
      { symbol: "USDT", address: fx.token, decimals: 6, priceWei: "333333333" },
      { symbol: "ETH", address: "0x0000000000000000000000000000000000000000", decimals: 18 },
    ],
  };
}

/**
 * The whole gateway (`indexer/src/server.ts`, as `npm start` runs it) as a child process with the given
 * config file, database and master key; resolves once its /health answers on `port` (within `timeoutMs`).
 */
export async function spawnGatewayServer(p: {
  configFile: string;
  databaseUrl: string;
  masterKeyHex: string;
  port: number;
  logLevel: string;
  timeoutMs: number;
}) {
  const child = spawn(process.execPath, ["--import", "tsx", "indexer/src/server.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      GATEWAY_CONFIG: p.configFile,
      DATABASE_URL: p.databaseUrl,
      GATEWAY_MASTER_KEY: p.masterKeyHex,
      LOG_LEVEL: p.logLevel,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  for (let i = 0; i < p.timeoutMs / 100; i++) {
    if (
      await fetch(`http://127.0.0.1:${p.port}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return child;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`the gateway did not come up on port ${p.port}`);
}
