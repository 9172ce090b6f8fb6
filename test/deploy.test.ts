/**
 * End-to-end test of scripts/deploy.ts against a real `hardhat node` child process: deploys, checks
 * deployments/31337.json and the code at the recorded address, then deploys again and checks that nothing
 * new was sent.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, getCreate2Address, keccak256 } from "ethers";

const ROOT = process.cwd();
const DEPLOYMENT_FILE = path.join(ROOT, "deployments", "31337.json");
const CREATE2_PROXY = "0x4e59b44847b379578588920cA78FbF26c0B4956C";

function freePort(): Promise<number> {
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

/** The parent's environment without the `hardhat test` run's own settings (HARDHAT_*, NODE_ENV). */
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("HARDHAT_") && k !== "NODE_ENV") env[k] = v;
  return { ...env, ...extra };
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: childEnv(env) });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, output }));
  });
}

describe("scripts/deploy.ts against `hardhat node`", function () {
  this.timeout(120_000);

  let node: ChildProcess | undefined;
  let nodeOutput = "";
  let rpcUrl = "";
  let provider: JsonRpcProvider;

  before(async function () {
    const port = await freePort();
    rpcUrl = `http://127.0.0.1:${port}`;
    // Own process group, so the whole npx -> node tree can be stopped by its id.
    node = spawn("npx", ["hardhat", "node", "--port", String(port)], { cwd: ROOT, env: childEnv(), detached: true });
    node.stdout!.on("data", (d) => (nodeOutput += d));
    node.stderr!.on("data", (d) => (nodeOutput += d));
    provider = new JsonRpcProvider(rpcUrl, 31337, { staticNetwork: true });
    const deadline = Date.now() + 45_000;
    for (;;) {
      try {
        await provider.send("eth_chainId", []);
        break;
      } catch {
        if (node.exitCode !== null || Date.now() > deadline) {
          throw new Error(`hardhat node did not start on ${rpcUrl}:\n${nodeOutput}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    await rm(DEPLOYMENT_FILE, { force: true });
  });

  after(function () {
    provider?.destroy();
    if (node?.pid !== undefined && node.exitCode === null) {
      try {
        process.kill(-node.pid, "SIGTERM");
      } catch {}
    }
  });

  // `hardhat test` has just compiled the contracts, so the script skips its own build; if the artifacts moved
  // under it (another build in the same tree), it is run once more with its build.
  const deploy = async () => {
    const env = { RPC_URL: rpcUrl, TOKENS: "", ADMIN_ADDRESS: "", OPERATOR_ADDRESS: "", FEE_RECIPIENT: "" };
    const fast = await run("npx", ["hardhat", "run", "--no-compile", "scripts/deploy.ts", "--network", "localhost"], env);
    if (fast.code === 0) return fast;
    return run("npx", ["hardhat", "run", "scripts/deploy.ts", "--network", "localhost"], env);
  };

  let first: any;

  it("deploys the vault through the CREATE2 proxy and records it", async function () {
    const { code, output } = await deploy();
    expect(code, output).to.equal(0);
    first = JSON.parse(await readFile(DEPLOYMENT_FILE, "utf8"));
    expect(first.chainId).to.equal(31337);
    expect(first.deploymentMethod).to.equal("create2-proxy");
    expect(first.txHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(first.blockNumber).to.be.a("number");
    expect(first.DEPOSIT_INIT_CODE_HASH).to.match(/^0x[0-9a-f]{64}$/);
    expect(first.solcVersion).to.match(/^0\.8\./);
    expect(getCreate2Address(CREATE2_PROXY, first.salt, first.initCodeHash)).to.equal(first.vault);

    expect(await provider.getCode(CREATE2_PROXY)).to.not.equal("0x");
    const code_ = await provider.getCode(first.vault);
    expect(code_.length).to.be.greaterThan(2);
    const receipt = await provider.getTransactionReceipt(first.txHash);
    expect(receipt?.status).to.equal(1);
    expect(receipt?.blockNumber).to.equal(first.blockNumber);
    expect(receipt?.to).to.equal(CREATE2_PROXY);
    // The constructor args are the node's first account (no env overrides).
    const [account] = await provider.send("eth_accounts", []);
    expect(first.constructorArgs.admin.toLowerCase()).to.equal(account.toLowerCase());
    expect(keccak256(code_)).to.be.a("string");
  });

  it("is idempotent: a second run sends nothing and records the same deployment", async function () {
    const blockBefore = await provider.getBlockNumber();
    const { code, output } = await deploy();
    expect(code, output).to.equal(0);
    expect(output).to.include("already deployed");
    expect(await provider.getBlockNumber()).to.equal(blockBefore);
    const second = JSON.parse(await readFile(DEPLOYMENT_FILE, "utf8"));
    expect(second.vault).to.equal(first.vault);
    expect(second.txHash).to.equal(first.txHash);
    expect(second.blockNumber).to.equal(first.blockNumber);
  });
});
