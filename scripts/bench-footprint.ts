/**
 * `npm run bench:footprint [-- --idle 30 --runs 3 --modes dist,tsx]`: what a self-hoster's small server
 * needs. Starts the gateway as `npm start` runs it (`node dist/server.js`, the compiled service) against a
 * fresh PostgreSQL database (TEST_DATABASE_URL's server) and one chain (a `hardhat node` on 127.0.0.1 mining
 * a block every 2 s, the vault deployed, one merchant), and measures:
 *   - healthMs: from spawning the process to the first `GET /health` answering 200 (the start includes the
 *     migrations check and the doctor's first full run against the chain);
 *   - cpuMsToHealth: the CPU time the process used until then (user + system), which the machine's load
 *     hardly changes: on a loaded machine it says what the start costs, where healthMs says how long it waited;
 *   - rssMb: resident memory of the process and its children (VmRSS from /proc) after --idle seconds idle.
 * `--modes tsx` measures the same through `node --import tsx indexer/src/server.ts` for comparison (its esbuild
 * child counted). The best start of --runs and the last idle RSS are reported; prints a table and writes
 * bench/results/footprint.json. Exits 1 if the compiled service misses a target (150 MB, 1,500 ms).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os, { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { resolveConfig } from "../indexer/src/config.js";
import { createSecretBox } from "../indexer/src/crypto/secretBox.js";
import { openGatewayStore } from "../indexer/src/runtime/store.js";
import { createMerchant } from "../indexer/src/store/merchants.js";
import { CHAIN_PG_URL, deployFixture, fixtureChainConfig, freePort, startHardhatNode } from "../indexer/test/chainHarness.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const TARGETS = { rssMb: 150, healthMs: 1_500 };
const { values: args } = parseArgs({
  options: {
    idle: { type: "string", default: "30" },
    runs: { type: "string", default: "3" },
    modes: { type: "string", default: "dist,tsx" },
  },
});
const idleSeconds = Number(args.idle);
const runs = Number(args.runs);
const modes = (args.modes as string).split(",") as ("dist" | "tsx")[];
const say = (line: string) => console.log(`[footprint] ${line}`);

if (modes.includes("dist") && !existsSync(path.join(ROOT, "dist/server.js"))) {
  console.error("bench:footprint: dist/server.js is missing: run `npm run build:service` (npm install does it)");
  process.exit(2);
}

/** Resident KiB of a process and all its descendants, from /proc. */
function treeRssKb(pid: number): number {
  const children = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const ppid = Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${d}/status`, "utf8"))![1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {}
  }
  let total = 0;
  const visit = (p: number) => {
    try {
      total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1] ?? 0);
    } catch {}
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(pid);
  return total;
}

const node = await startHardhatNode();
const adminDb = new pg.Client({ connectionString: CHAIN_PG_URL });
const dbName = `bench_footprint_${randomBytes(4).toString("hex")}`;
const dir = mkdtempSync(path.join(tmpdir(), "bench-footprint-"));
const results: Record<string, { healthMs: number; healthMsRuns: number[]; cpuMsToHealth: number; rssMb: number; processes: number }> = {};
/** CPU time (user + system) a process has used, ms: unlike wall time, it hardly depends on the machine's load. */
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks of 1/100 s
};
try {
  const fx = await deployFixture(node);
  await node.rpc("evm_setIntervalMining", [2_000]);
  await adminDb.connect();
  await adminDb.query(`CREATE DATABASE ${dbName}`);
  const databaseUrl = CHAIN_PG_URL.replace(/\/[^/]*$/, `/${dbName}`);
  const masterKey = randomBytes(32);
  const chain = await fixtureChainConfig(fx, { confirmations: 3 });
  const configFile = path.join(dir, "gateway.json");
  const port = await freePort();
  writeFileSync(configFile, JSON.stringify({ host: "127.0.0.1", port, logLevel: "warn", chains: [chain] }));
  // a migrated store with one merchant registered as in the vault (merchant 1, the fixture's admin as signer)
  const config = resolveConfig({ ...JSON.parse(readFileSync(configFile, "utf8")), masterKey, databaseUrl });
  const db = await openGatewayStore(config, { who: "bench" });
  await createMerchant(db, createSecretBox(masterKey), { id: 1n, name: "Bench", feeBps: 100, payoutSigner: fx.admin });
  await db.close();

  const env = { ...process.env, GATEWAY_CONFIG: configFile, DATABASE_URL: databaseUrl, GATEWAY_MASTER_KEY: masterKey.toString("hex") };
  for (const mode of modes) {
    // exactly what `npm start` runs (its node flags included), or the same through tsx
    const start = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts.start as string).split(" ").slice(1);
    // FOOTPRINT_NODE_ARGS adds node flags to the measured process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to see where a start goes)
    const extra = process.env.FOOTPRINT_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
    const command = [...extra, ...(mode === "dist" ? start : ["--import", "tsx", "indexer/src/server.ts"])];
    const starts: number[] = [];
    const cpus: number[] = [];
    let rssMb = 0;
    let processes = 0;
    for (let run = 1; run <= runs; run++) {
      const t0 = performance.now();
      const child: ChildProcess = spawn(process.execPath, command, { cwd: ROOT, env, stdio: ["ignore", "ignore", "inherit"] });
      let healthMs = -1;
      while (performance.now() - t0 < 30_000 && child.exitCode === null) {
        const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (ok) {
          healthMs = Math.round(performance.now() - t0);
          cpus.push(cpuMs(child.pid!));
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      if (healthMs < 0) throw new Error(`${mode}: /health did not answer 200 within 30 s (exit ${child.exitCode})`);
      starts.push(healthMs);
      if (run === runs) {
        say(`${mode}: idle ${idleSeconds} s`);
        await new Promise((r) => setTimeout(r, idleSeconds * 1000));
        rssMb = Math.round(treeRssKb(child.pid!) / 1024);
        processes = 1 + readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).length;
      }
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
      say(
        `${mode} run ${run}: /health 200 after ${healthMs} ms${run === runs ? `, ${rssMb} MB resident after ${idleSeconds} s idle (${processes} process(es))` : ""}`,
      );
    }
    results[mode] = { healthMs: Math.min(...starts), healthMsRuns: starts, cpuMsToHealth: Math.min(...cpus), rssMb, processes };
  }
} finally {
  node.stop();
  await adminDb.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
  await adminDb.end().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}

const dist = results.dist;
const report = {
  date: new Date().toISOString(),
  node: process.version,
  machine: { cpus: os.cpus().length, loadavg1: Number(os.loadavg()[0]!.toFixed(2)) },
  setup: `PostgreSQL, one chain (hardhat node, a block every 2 s), ${idleSeconds} s idle, best start of ${runs}`,
  modes: results,
  targets: dist
    ? {
        rssMb: { bound: TARGETS.rssMb, value: dist.rssMb, met: dist.rssMb <= TARGETS.rssMb },
        healthMs: { bound: TARGETS.healthMs, value: dist.healthMs, met: dist.healthMs <= TARGETS.healthMs },
      }
    : {},
};
mkdirSync(path.join(ROOT, "bench/results"), { recursive: true });
writeFileSync(path.join(ROOT, "bench/results/footprint.json"), JSON.stringify(report, null, 2) + "\n");
console.log("\n| start command | /health 200 after (best of runs) | CPU time until then | resident after idle |");
console.log("| --- | --- | --- | --- |");
for (const [mode, r] of Object.entries(results)) {
  console.log(
    `| ${mode === "dist" ? "node dist/server.js (npm start)" : "node --import tsx indexer/src/server.ts"} | ${r.healthMs} ms (${r.healthMsRuns.join(", ")}) | ${r.cpuMsToHealth} ms | ${r.rssMb} MB (${r.processes} process(es)) |`,
  );
}
console.log(
  `\nload average while measured: ${report.machine.loadavg1} on ${report.machine.cpus} cores; wrote bench/results/footprint.json`,
);
if (dist && (!report.targets.rssMb!.met || !report.targets.healthMs!.met)) process.exit(1);
