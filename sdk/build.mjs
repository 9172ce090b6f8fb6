// `npm run build` (and `npm pack`, through prepack): the SDK as ES modules in dist/esm and CommonJS in
// dist/cjs, each with .d.ts, so Node 20 and 22 import or require it without a TypeScript runtime.
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const here = import.meta.dirname;
const tsc = createRequire(path.join(here, "package.json")).resolve("typescript/bin/tsc");
rmSync(path.join(here, "dist"), { recursive: true, force: true });
for (const project of ["tsconfig.json", "tsconfig.cjs.json"]) {
  const r = spawnSync(process.execPath, [tsc, "-p", path.join(here, project)], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
// the package is "type": "module"; this marks dist/cjs as CommonJS
writeFileSync(path.join(here, "dist/cjs/package.json"), JSON.stringify({ type: "commonjs" }) + "\n");
console.log("@evm-pay/sdk: built dist/esm and dist/cjs");
