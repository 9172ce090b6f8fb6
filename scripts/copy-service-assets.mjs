// Part of `npm run build:service`: tsc compiles indexer/src/**/*.ts to dist/; this copies what the service
// reads beside its code (SQL migrations, the payment page's script and stylesheet, any other non-TypeScript
// file) to the same place under dist/. Plain JavaScript so it runs on any Node the build runs on.
import { cpSync, readdirSync, statSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const from = path.join(root, "indexer/src");
const to = path.join(root, "dist");
let copied = 0;
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (!name.endsWith(".ts")) {
      cpSync(p, path.join(to, path.relative(from, p)));
      copied++;
    }
  }
};
walk(from);
console.log(`build:service: ${copied} asset file(s) copied to dist/`);
