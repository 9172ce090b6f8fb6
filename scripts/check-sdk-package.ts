/**
 * `npm run check:sdk` (a step of .ci/run): packs the merchant SDK as npm would publish it, installs the
 * tarball into a scratch project and imports it there under every Node found (the Node 22 of npm scripts
 * and the machine's own Node, 20 on CI), as an ES module and with require(), then type-checks a consumer
 * against its .d.ts. Exits 1 on the first failure.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const say = (line: string) => console.log(`check:sdk: ${line}`);
const scratch = mkdtempSync(path.join(tmpdir(), "sdk-scratch-"));
let failed = false;
const check = (what: string, ok: boolean, detail = "") => {
  say(`${ok ? "ok  " : "FAIL"} ${what}${!ok && detail ? `\n${detail}` : ""}`);
  if (!ok) failed = true;
};

try {
  // npm pack runs the SDK's prepack (its build); the tarball holds exactly what a user would install
  const packed = execFileSync("npm", ["pack", "--silent", "--pack-destination", scratch], { cwd: path.join(root, "sdk"), encoding: "utf8" })
    .trim()
    .split("\n")
    .pop()!;
  const tarball = path.join(scratch, packed);
  check(`packed ${packed}`, existsSync(tarball));
  writeFileSync(path.join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, version: "0.0.0" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock", "--offline", tarball], {
    cwd: scratch,
    stdio: "inherit",
  });

  // a consumer: the client and the webhook verifier are there, and a forged signature is refused
  const body = (load: string) => `${load}
if (typeof sdk.createPayClient !== "function" || typeof sdk.verifyWebhook !== "function" || typeof sdk.typedDataToSign !== "function")
  throw new Error("exports missing: " + Object.keys(sdk));
let refused = false;
try {
  sdk.verifyWebhook({ secret: "whsec_" + Buffer.from("k".repeat(32)).toString("base64"), body: "{}", headers: { "webhook-id": "e1", "webhook-timestamp": String(Math.floor(Date.now() / 1000)), "webhook-signature": "v1,AAAA" } });
} catch { refused = true; }
if (!refused) throw new Error("a forged webhook was accepted");
console.log("ok " + process.version);
`;
  writeFileSync(path.join(scratch, "esm.mjs"), body(`import * as sdk from "@evm-pay/sdk";`));
  writeFileSync(path.join(scratch, "cjs.cjs"), body(`const sdk = require("@evm-pay/sdk");`));

  for (const node of nodes()) {
    const major = Number(/^v(\d+)/.exec(execFileSync(node, ["--version"], { encoding: "utf8" }))![1]);
    for (const file of ["esm.mjs", "cjs.cjs"]) {
      const r = spawnSync(node, [file], { cwd: scratch, encoding: "utf8" });
      check(
        `Node ${major} ${file.startsWith("esm") ? "import" : "require"}`,
        r.status === 0 && r.stdout.startsWith("ok"),
        r.stderr || r.stdout,
      );
    }
  }

  // types: a TypeScript consumer in each module system compiles against the packed .d.ts
  writeFileSync(
    path.join(scratch, "consumer.mts"),
    `import { createPayClient, verifyWebhook, type PayClient } from "@evm-pay/sdk";\nconst f: typeof verifyWebhook = verifyWebhook;\nexport const make = (): PayClient => createPayClient({ baseUrl: "http://127.0.0.1", apiKey: "pk", apiSecret: "sk" });\nvoid f;\n`,
  );
  writeFileSync(
    path.join(scratch, "consumer.cts"),
    `import sdk = require("@evm-pay/sdk");\nexport const make: typeof sdk.createPayClient = sdk.createPayClient;\n`,
  );
  const tsc = createRequire(path.join(root, "package.json")).resolve("typescript/bin/tsc");
  const typesDir = path.join(root, "node_modules/@types");
  const r = spawnSync(
    process.execPath,
    [
      tsc,
      "--noEmit",
      "--strict",
      "--module",
      "nodenext",
      "--moduleResolution",
      "nodenext",
      "--typeRoots",
      typesDir,
      "--types",
      "node",
      "consumer.mts",
      "consumer.cts",
    ],
    { cwd: scratch, encoding: "utf8" },
  );
  check("TypeScript consumers (ESM and CommonJS) compile against the .d.ts", r.status === 0, r.stdout + r.stderr);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (failed) process.exit(1);
say("the packed SDK imports and type-checks");

/** The Node of this process (22, from node_modules) and any other `node` on PATH (the machine's own, 20 on CI). */
function nodes(): string[] {
  const found = new Map<string, string>();
  const add = (p: string) => {
    try {
      const v = execFileSync(p, ["--version"], { encoding: "utf8" }).trim();
      if (!found.has(v)) found.set(v, p);
    } catch {}
  };
  add(process.execPath);
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir || dir.includes("node_modules")) continue;
    const p = path.join(dir, "node");
    if (existsSync(p) && readdirSync(dir).includes("node")) add(p);
  }
  const versions = [...found.keys()];
  if (!versions.some((v) => v.startsWith("v20."))) say(`no Node 20 on PATH (found ${versions.join(", ")}): checked those only`);
  return [...found.values()];
}
