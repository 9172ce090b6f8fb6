/**
 * Packaging: what the service imports at run time is a declared `dependency` (so `npm install --omit=dev`
 * or `npm prune --omit=dev` leaves a working service), and `npm start` runs the compiled entry point.
 */
import assert from "node:assert/strict";
import { builtinModules } from "node:module";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";

const ROOT = path.resolve(import.meta.dirname, "../..");
const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith(".ts") ? [p] : [];
  });
}

describe("packaging", () => {
  it("every package the service imports at run time is a dependency, not a devDependency", () => {
    const used = new Map<string, string>();
    for (const file of sources(path.join(ROOT, "indexer/src"))) {
      const text = readFileSync(file, "utf8");
      // value imports and dynamic imports; `import type` is erased by the compiler
      for (const m of text.matchAll(/^import (?!type )[^;]*?from "([^"]+)"|import\("([^"]+)"\)/gm)) {
        const spec = m[1] ?? m[2]!;
        if (spec.startsWith(".") || spec.startsWith("node:") || builtinModules.includes(spec)) continue;
        const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
        used.set(name, path.relative(ROOT, file));
      }
    }
    assert.ok(used.size > 5, "found the service's imports");
    for (const [name, file] of used) assert.ok(pkg.dependencies?.[name], `${name} (imported by ${file}) must be in "dependencies"`);
  });

  it("npm start runs the compiled service, which the build writes where the script looks", () => {
    const build = JSON.parse(readFileSync(path.join(ROOT, "tsconfig.build.json"), "utf8")).compilerOptions;
    assert.match(pkg.scripts.start, /^node (--[a-z-]+=\S+ )*dist\/server\.js$/);
    assert.equal(build.rootDir, "indexer/src");
    assert.equal(build.outDir, "dist");
    assert.match(pkg.scripts.prepare, /build:service/);
    assert.equal(pkg.engines.node, ">=22.13");
  });
});
