/**
 * The local stack of `npm run local`, as a list of steps over one shared `LocalStack` object: each step
 * reads what the earlier ones left and adds its part (a process, a contract, a config field, a key). To add
 * something, write a step that deploys it into `stack.contracts` and adds what the gateway needs to
 * `stack.chain`, and put it in `LOCAL_STEPS` before "write the gateway config" (as the mock price feeds do).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { createPublicClient, createWalletClient, http, parseAbi, type Abi, type Address, type Hex, type PublicClient } from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { loadConfig, NATIVE_TOKEN } from "../../indexer/src/config.js";
import { createSecretBox } from "../../indexer/src/crypto/secretBox.js";
import { registerMerchantCall, sendAdminCall, setTokenAllowedCall } from "../../indexer/src/doctor/index.js";
import { openGatewayStore } from "../../indexer/src/runtime/store.js";
import { createMerchant } from "../../indexer/src/store/merchants.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const MNEMONIC = "test test test test test test test test test test test junk";
const CHAIN_ID = 31337;
/** Marks a directory as the local stack's, so a re-run may wipe it. */
const MARKER = ".local-stack";

export type LocalAccount = { address: Address; privateKey: Hex };
const account = (index: number): LocalAccount => {
  const a = mnemonicToAccount(MNEMONIC, { addressIndex: index });
  return { address: a.address, privateKey: `0x${Buffer.from(a.getHdKey().privateKey!).toString("hex")}` };
};

export type LocalStackOptions = {
  dir: string;
  out: string;
  port: number;
  rpcPort: number;
  blockTimeMs: number;
  confirmations: number;
  /** PostgreSQL instead of PGlite */
  databaseUrl?: string;
};

export type LocalToken = { symbol: string; address: Address; decimals: number; priceWei?: string };

export type LocalStack = {
  options: LocalStackOptions;
  rpcUrl: string;
  gatewayUrl: string;
  accounts: { admin: LocalAccount; operator: LocalAccount; payer: LocalAccount; merchantSigner: LocalAccount };
  /** deployed contracts by name (vault, usdt, usdc, …) */
  contracts: Record<string, Address>;
  tokens: LocalToken[];
  /** the chain entry of the gateway config, built up by the steps */
  chain: Record<string, unknown>;
  configFile?: string;
  merchant?: { id: string; apiKey: string; apiSecret: string; webhookSecret: string; feeBps: number };
  /** processes to stop, last started first */
  children: { name: string; process: ChildProcess }[];
  publicClient?: PublicClient;
  log: (line: string) => void;
};

export type LocalStep = { name: string; run(stack: LocalStack): Promise<void> };

export function newLocalStack(options: LocalStackOptions, log: (line: string) => void): LocalStack {
  return {
    options,
    rpcUrl: `http://127.0.0.1:${options.rpcPort}`,
    gatewayUrl: `http://127.0.0.1:${options.port}`,
    accounts: { admin: account(0), operator: account(1), payer: account(2), merchantSigner: account(3) },
    contracts: {},
    tokens: [],
    chain: {},
    children: [],
    log,
  };
}

// ---------------------------------------------------------------------------------------------- helpers

async function rpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** A compiled contract by name, from Hardhat's artifacts (run `npx hardhat build` first; `npm run local` does). */
export function readArtifact(name: string): { abi: Abi; bytecode: Hex } {
  const find = (dir: string): string | undefined => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        const hit = find(p);
        if (hit) return hit;
      } else if (e.name === `${name}.json`) return p;
    }
    return undefined;
  };
  const base = path.join(ROOT, "artifacts/contracts");
  const file = existsSync(base) ? find(base) : undefined;
  if (!file) throw new Error(`no compiled ${name} under artifacts/contracts: run \`npx hardhat build\``);
  const a = JSON.parse(readFileSync(file, "utf8"));
  return { abi: a.abi, bytecode: a.bytecode };
}

function spawnLogged(
  stack: LocalStack,
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  logFile: string,
): ChildProcess {
  const fd = openSync(logFile, "a");
  const child = spawn(command, args, { cwd: ROOT, env, detached: true, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  stack.children.push({ name, process: child });
  return child;
}

const tail = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").split("\n").slice(-15).join("\n") : "");

async function waitFor(what: string, ok: () => Promise<boolean>, child: ChildProcess, logFile: string, timeoutMs: number) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await ok().catch(() => false)) return;
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}); the end of ${logFile}:\n${tail(logFile)}`);
    if (Date.now() > end) throw new Error(`${what} did not come up within ${timeoutMs / 1000} s; the end of ${logFile}:\n${tail(logFile)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Stops every process the stack started, newest first: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopLocalStack(stack: LocalStack, graceMs = 10_000): Promise<void> {
  for (const { name, process: child } of [...stack.children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    const timer = setTimeout(() => {
      stack.log(`${name} did not stop within ${graceMs / 1000} s: killing it`);
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
    }, graceMs);
    await exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------- steps

const prepareDir: LocalStep = {
  name: "prepare the data directory",
  async run(stack) {
    const { dir } = stack.options;
    if (existsSync(dir) && readdirSync(dir).length > 0 && !existsSync(path.join(dir, MARKER))) {
      throw new Error(`${dir} is not empty and not a local stack's directory: choose another --dir`);
    }
    rmSync(dir, { recursive: true, force: true }); // a new chain each run: the old store's blocks would not match it
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, MARKER), "written by npm run local; deleted and rewritten by its next run\n");
    for (const [what, port] of [
      ["--rpc-port", stack.options.rpcPort],
      ["--port", stack.options.port],
    ] as const) {
      if (!(await portFree(port)))
        throw new Error(`port ${port} on 127.0.0.1 is in use (another local stack or node?): choose another with ${what}`);
    }
  },
};

const startNode: LocalStep = {
  name: "start a hardhat node that mines on an interval",
  async run(stack) {
    const logFile = path.join(stack.options.dir, "node.log");
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("HARDHAT_") && !k.startsWith("NODE_TEST")) env[k] = v;
    const hardhat = path.join(ROOT, "node_modules/hardhat/dist/src/cli.js");
    const child = spawnLogged(
      stack,
      "hardhat node",
      process.execPath,
      [hardhat, "node", "--hostname", "127.0.0.1", "--port", String(stack.options.rpcPort)],
      env,
      logFile,
    );
    await waitFor(
      "hardhat node",
      async () => (await rpc<string>(stack.rpcUrl, "eth_chainId")) === `0x${CHAIN_ID.toString(16)}`,
      child,
      logFile,
      90_000,
    );
    // transactions are still mined at once; the interval adds the empty blocks that confirmations need
    await rpc(stack.rpcUrl, "evm_setIntervalMining", [stack.options.blockTimeMs]);
    stack.publicClient = createPublicClient({ transport: http(stack.rpcUrl), cacheTime: 0 }) as PublicClient;
    stack.log(`hardhat node on ${stack.rpcUrl} (chain ${CHAIN_ID}), a block every ${stack.options.blockTimeMs} ms; log ${logFile}`);
  },
};

const localChain = {
  id: CHAIN_ID,
  name: "hardhat local",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [] as string[] } },
};

async function deploy(stack: LocalStack, name: string, args: unknown[]): Promise<Address> {
  const { abi, bytecode } = readArtifact(name);
  const wallet = createWalletClient({
    account: privateKeyToAccount(stack.accounts.admin.privateKey),
    chain: localChain,
    transport: http(stack.rpcUrl),
  });
  const hash = await wallet.deployContract({ abi, bytecode, args });
  const receipt = await stack.publicClient!.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success" || !receipt.contractAddress) throw new Error(`deploying ${name} failed (${hash})`);
  return receipt.contractAddress;
}

const deployContracts: LocalStep = {
  name: "deploy the vault and two stablecoins",
  async run(stack) {
    const { admin, operator } = stack.accounts;
    const startBlock = await stack.publicClient!.getBlockNumber();
    stack.contracts.vault = await deploy(stack, "PaymentVault", [admin.address, operator.address, admin.address]);
    // USDT-style: transfer returns nothing; USDC-style: a standard ERC-20 that returns true
    stack.contracts.usdt = await deploy(stack, "MockTetherToken", []);
    stack.contracts.usdc = await deploy(stack, "MockERC20", ["USD Coin", "USDC", 6]);
    stack.tokens.push(
      { symbol: "USDT", address: stack.contracts.usdt, decimals: 6, priceWei: "333333333" }, // 1 ETH = 3,000 USD
      { symbol: "USDC", address: stack.contracts.usdc, decimals: 6, priceWei: "333333333" },
      { symbol: "ETH", address: NATIVE_TOKEN, decimals: 18 },
    );
    Object.assign(stack.chain, { startBlock: Number(startBlock) });
    stack.log(`PaymentVault ${stack.contracts.vault}, USDT-style ${stack.contracts.usdt}, USDC-style ${stack.contracts.usdc}`);
  },
};

/** What the mock feeds answer (8 decimals, as Chainlink's USD feeds): 1 ETH = 3,000 USD, 1 CNY = 0.14 USD. */
export const LOCAL_FEED_ANSWERS = { ETH_USD: 3000_00000000n, USDT_USD: 1_00000000n, CNY_USD: 14000000n } as const;
/** A mock feed never updates by itself: a heartbeat of a year keeps it fresh for any local session. */
const LOCAL_HEARTBEAT_SECONDS = 365 * 24 * 3600;

const deployPriceFeeds: LocalStep = {
  name: "deploy mock price feeds (ETH/USD, USDT/USD, CNY/USD)",
  async run(stack) {
    stack.contracts.ethUsdFeed = await deploy(stack, "MockAggregatorV3", [8, "ETH / USD", LOCAL_FEED_ANSWERS.ETH_USD]);
    stack.contracts.usdtUsdFeed = await deploy(stack, "MockAggregatorV3", [8, "USDT / USD", LOCAL_FEED_ANSWERS.USDT_USD]);
    stack.contracts.cnyUsdFeed = await deploy(stack, "MockAggregatorV3", [8, "CNY / USD", LOCAL_FEED_ANSWERS.CNY_USD]);
    const feed = (address: Address) => ({ address, heartbeatSeconds: LOCAL_HEARTBEAT_SECONDS });
    // USD and CNY orders (isLegalTender 1) priced in USDT by default (pegged, checked against its feed), or in
    // ETH or USDC by currencyId; a feed's answer can be changed with MockAggregatorV3.setAnswer
    Object.assign(stack.chain, {
      pricing: {
        tokens: {
          USDT: { peg: "USD", feed: feed(stack.contracts.usdtUsdFeed) },
          USDC: { peg: "USD" },
          ETH: { feed: feed(stack.contracts.ethUsdFeed) },
        },
        fiat: { CNY: { feed: feed(stack.contracts.cnyUsdFeed) } },
      },
    });
    stack.log(`ETH/USD ${stack.contracts.ethUsdFeed}, USDT/USD ${stack.contracts.usdtUsdFeed}, CNY/USD ${stack.contracts.cnyUsdFeed}`);
  },
};

const writeConfig: LocalStep = {
  name: "write the gateway config",
  async run(stack) {
    const file = path.join(stack.options.dir, "gateway.json");
    const config = {
      "//": "written by npm run local; rewritten on its next run",
      host: "127.0.0.1",
      port: stack.options.port,
      logLevel: "info",
      pgliteDir: "pglite",
      masterKeyFile: "master.key",
      allowPrivateWebhookTargets: true, // a merchant server on this machine receives the webhooks
      minOrderTtlSeconds: 10,
      pollIntervalMs: 250,
      chains: [
        {
          chainId: CHAIN_ID,
          code: "local",
          name: "Hardhat local",
          vault: stack.contracts.vault,
          rpcUrl: stack.rpcUrl,
          confirmations: stack.options.confirmations,
          headStallSeconds: Math.max(10, Math.ceil((stack.options.blockTimeMs * 10) / 1000)),
          tokens: stack.tokens,
          ...stack.chain,
        },
      ],
    };
    writeFileSync(file, JSON.stringify(config, null, 2) + "\n");
    stack.configFile = file;
    stack.log(`config ${file}`);
  },
};

/** The environment every command of this stack runs with (`npm start`, `npm run doctor`, `npm run admin`, …). */
export function stackEnv(stack: LocalStack): Record<string, string> {
  return {
    GATEWAY_CONFIG: stack.configFile!,
    OPERATOR_PRIVATE_KEY: stack.accounts.operator.privateKey,
    ADMIN_PRIVATE_KEY: stack.accounts.admin.privateKey,
    ...(stack.options.databaseUrl ? { DATABASE_URL: stack.options.databaseUrl } : {}),
  };
}

const createLocalMerchant: LocalStep = {
  name: "create a merchant",
  async run(stack) {
    // what npm start does on its first start (master key, store), then what create-merchant does
    const config = loadConfig({ ...process.env, ...stackEnv(stack) }, { createMasterKey: true });
    const db = await openGatewayStore(config, { who: "npm run local" });
    try {
      const m = await createMerchant(db, createSecretBox(config.masterKey), {
        id: 1n,
        name: "Local Shop",
        feeBps: 100,
        payoutSigner: stack.accounts.merchantSigner.address,
        payoutKeyMode: "merchant",
      });
      stack.merchant = {
        id: m.merchantId.toString(),
        apiKey: m.apiKey,
        apiSecret: m.apiSecret,
        webhookSecret: m.webhookSecret,
        feeBps: 100,
      };
    } finally {
      await db.close();
    }
    stack.log(`merchant ${stack.merchant!.id} "Local Shop" (fee 1%), payout signer ${stack.accounts.merchantSigner.address}`);
  },
};

const registerAndAllow: LocalStep = {
  name: "register the merchant and allowlist the tokens",
  async run(stack) {
    // the same calls `npm run admin -- register-merchant / allow-token` sends
    const chain = loadConfig({ ...process.env, ...stackEnv(stack) }).chains[0]!;
    const key = stack.accounts.admin.privateKey;
    await sendAdminCall(
      chain,
      registerMerchantCall(chain, BigInt(stack.merchant!.id), stack.accounts.merchantSigner.address, stack.merchant!.feeBps),
      key,
    );
    for (const t of stack.tokens) await sendAdminCall(chain, setTokenAllowedCall(chain, t.address, true), key);
    stack.log(`merchant ${stack.merchant!.id} registered in the vault; ${stack.tokens.map((t) => t.symbol).join(", ")} allowlisted`);
  },
};

const fundPayer: LocalStep = {
  name: "fund the payer",
  async run(stack) {
    const wallet = createWalletClient({
      account: privateKeyToAccount(stack.accounts.admin.privateKey),
      chain: localChain,
      transport: http(stack.rpcUrl),
    });
    const mint = parseAbi(["function mint(address to, uint256 amount)"]);
    for (const t of stack.tokens.filter((x) => x.address !== NATIVE_TOKEN)) {
      const hash = await wallet.writeContract({
        address: t.address,
        abi: mint,
        functionName: "mint",
        args: [stack.accounts.payer.address, 1_000_000n * 10n ** BigInt(t.decimals)],
      });
      await stack.publicClient!.waitForTransactionReceipt({ hash });
    }
    stack.log(`payer ${stack.accounts.payer.address}: 1,000,000 USDT, 1,000,000 USDC and 10,000 ETH`);
  },
};

const startGatewayProcess: LocalStep = {
  name: "start the gateway",
  async run(stack) {
    const logFile = path.join(stack.options.dir, "gateway.log");
    // from the source, so the stack always runs the code in the working tree (npm start runs the build in dist/)
    const env = { ...process.env, ...stackEnv(stack) };
    for (const k of ["PGLITE_DIR", "GATEWAY_MASTER_KEY", "GATEWAY_MASTER_KEY_FILE", "OPERATOR_KEY_FILE", "PORT", "HOST", "PAY_PAGE_URL"])
      delete env[k];
    if (!stack.options.databaseUrl) delete env.DATABASE_URL;
    const child = spawnLogged(stack, "gateway", process.execPath, ["--import", "tsx", "indexer/src/server.ts"], env, logFile);
    await waitFor("the gateway", async () => (await fetch(`${stack.gatewayUrl}/health`)).status === 200, child, logFile, 90_000);
    stack.log(`gateway ${stack.gatewayUrl} (health 200); log ${logFile}`);
  },
};

/** The steps of `npm run local`, in order. */
export const LOCAL_STEPS: LocalStep[] = [
  prepareDir,
  startNode,
  deployContracts,
  deployPriceFeeds,
  writeConfig,
  createLocalMerchant,
  registerAndAllow,
  fundPayer,
  startGatewayProcess,
];

/** What `--out` holds: everything a script needs to build against the stack. */
export function stackJson(stack: LocalStack) {
  const { admin, operator, payer, merchantSigner } = stack.accounts;
  return {
    version: 1,
    startedAt: new Date().toISOString(),
    gatewayUrl: stack.gatewayUrl,
    payPageUrl: `${stack.gatewayUrl}/pay`,
    consoleUrl: `${stack.gatewayUrl}/console`,
    chainId: CHAIN_ID,
    rpcUrl: stack.rpcUrl,
    blockTimeMs: stack.options.blockTimeMs,
    confirmations: stack.options.confirmations,
    contracts: stack.contracts,
    tokens: stack.tokens.map(({ symbol, address, decimals }) => ({ symbol, address, decimals })),
    merchant: { ...stack.merchant!, payoutSigner: merchantSigner.address, payoutSignerKey: merchantSigner.privateKey },
    payer,
    operator,
    admin,
    env: stackEnv(stack),
    files: {
      dir: path.resolve(stack.options.dir),
      config: stack.configFile!,
      gatewayLog: path.resolve(stack.options.dir, "gateway.log"),
      nodeLog: path.resolve(stack.options.dir, "node.log"),
    },
    pids: {
      stack: process.pid,
      ...Object.fromEntries(stack.children.map((c) => [c.name === "gateway" ? "gateway" : "node", c.process.pid])),
    },
  };
}
