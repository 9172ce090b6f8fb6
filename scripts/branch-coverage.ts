/**
 * Branch coverage of contracts/, run by `npm run coverage` after `hardhat test --coverage`.
 *
 * Hardhat 3 reports statements and lines only: EDR gives no branch data. But each instrumented statement's
 * hits are saved in coverage/data/<runner>/*.json as `{ tag: count }`, and the tags are deterministic:
 * re-instrumenting a source the way Hardhat does gives back every tag with its source range. Matching those
 * ranges to the solc AST gives each branch's first statement, and its count says whether the branch ran.
 *
 * What a count means: EDR collects the tags hit during one transaction, call or Solidity test as a set, so a
 * count is the number of such runs in which the statement ran at least once, not how often it ran.
 *
 * Branches measured:
 * - `if`: the true side ran if the first statement of its body ran. The false side ran if the first
 *   statement of the `else` ran; without an `else`, if some run reached the `if` but never entered its body
 *   (count(if) > count(body)), or, when the body always leaves (return/revert/break/continue), if the
 *   statement after the `if` ran. Both are lower bounds: a run that takes both sides counts only for true.
 * - `for`/`while`: "body" if the body's first statement ran; "skip" (no iteration) if some run reached
 *   the loop but never entered the body (count(loop) > count(body)), again a lower bound.
 * Not measured, listed per file for checking by hand: `?:` operands, `&&`/`||` short-circuits, the repeat
 * decision of `do { } while`, and `if`/`switch`/`for` inside inline assembly.
 *
 * Prints a table per file, every branch never taken, writes coverage/branches.json and exits 1 if a file
 * is below MIN_PERCENT.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import solc from "solc";
import hre from "hardhat";

const MIN_PERCENT = 95;
const ROOT = hre.config.paths.root;
const COVERAGE_DIR = path.join(ROOT, "coverage");
const SOLC_VERSION = hre.config.solidity.profiles.default.compilers[0].version;

// Hardhat's own instrumentation and glob matching (not exported by the package, so imported by file URL).
const hardhatInternal = path.join(ROOT, "node_modules/hardhat/dist/src/internal");
const { instrumentSolidityFileForCompilationJob } = await import(
  pathToFileURL(path.join(hardhatInternal, "builtin-plugins/coverage/instrumentation.js")).href
);
const { matchesAnyGlob } = await import(pathToFileURL(path.join(hardhatInternal, "utils/glob.js")).href);

/** A solc AST node (Solidity or Yul), loosely typed. */
interface Node {
  nodeType: string;
  src: string;
  [key: string]: any;
}

/** An instrumented statement: its hit count and its UTF-16 range (leading and trailing trivia included). */
interface Entry {
  count: number;
  start: number;
  end: number;
}

interface Branch {
  line: number;
  kind: "if" | "for" | "while";
  side: "true" | "false" | "body" | "skip";
  count: number;
  condition: string;
}

interface Unmeasured {
  line: number;
  what: string;
  code: string;
}

// ---------------------------------------------------------------- inputs

/** Sum of the `{ tag: count }` files every test runner saved. */
function readHits(): Map<string, number> {
  const hits = new Map<string, number>();
  const dataDir = path.join(COVERAGE_DIR, "data");
  if (!existsSync(dataDir)) throw new Error(`${dataDir} not found: run \`hardhat test --coverage\` first`);
  for (const runner of readdirSync(dataDir)) {
    for (const file of readdirSync(path.join(dataDir, runner)).filter((f) => f.endsWith(".json"))) {
      const counts: Record<string, number> = JSON.parse(readFileSync(path.join(dataDir, runner, file), "utf8"));
      for (const [tag, count] of Object.entries(counts)) hits.set(tag, (hits.get(tag) ?? 0) + count);
    }
  }
  return hits;
}

/** The .sol files in the sources folders that Hardhat instruments (coverage.skipFiles left out). */
function coveredSources(): string[] {
  return hre.config.paths.sources.solidity
    .flatMap((dir) => readdirSync(dir, { recursive: true, encoding: "utf8" }).map((f) => path.join(dir, f)))
    .filter((f) => f.endsWith(".sol"))
    .map((f) => path.relative(ROOT, f).split(path.sep).join("/"))
    .filter((f) => !matchesAnyGlob(f, hre.config.coverage.skipFiles))
    .sort();
}

/** The file's AST; `stopAfter: "parsing"` needs no imports resolved. */
function parse(sourceName: string, content: string): Node {
  const input = {
    language: "Solidity",
    sources: { [sourceName]: { content } },
    settings: { stopAfter: "parsing", outputSelection: { "*": { "": ["ast"] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors ?? []).filter((e: { severity: string }) => e.severity === "error");
  if (errors.length > 0) throw new Error(`${sourceName}: ${errors.map((e: { message: string }) => e.message).join("; ")}`);
  return output.sources[sourceName].ast;
}

// ---------------------------------------------------------------- one file

function analyseFile(file: string, hits: Map<string, number>) {
  const text = readFileSync(path.join(ROOT, file), "utf8");

  // Hardhat instruments a project file under its input source name, "project/<path>"; the tags depend on it.
  const { metadata } = instrumentSolidityFileForCompilationJob({
    compilationJobSolcVersion: SOLC_VERSION,
    sourceName: `project/${file}`,
    fileContent: text,
  });
  const entries: Entry[] = metadata
    .filter((m: { kind: string }) => m.kind === "statement")
    .map((m: { tag: Uint8Array; startUtf16: number; endUtf16: number }) => ({
      count: hits.get(Buffer.from(m.tag).toString("hex")) ?? 0,
      start: m.startUtf16,
      end: m.endUtf16,
    }));

  // AST offsets are UTF-8 bytes, metadata offsets UTF-16 code units.
  const utf16At: number[] = []; // indexed by UTF-8 byte offset
  let units = 0;
  for (const ch of text) {
    for (let b = Buffer.byteLength(ch); b > 0; b--) utf16At.push(units);
    units += ch.length;
  }
  utf16At.push(units);
  const range = (node: Node): [number, number] => {
    const [offset, length] = node.src.split(":").map(Number);
    return [utf16At[offset], utf16At[offset + length]];
  };
  const lineOf = (node: Node) => text.slice(0, range(node)[0]).split("\n").length;
  const codeOf = (node: Node) =>
    text
      .slice(...range(node))
      .replace(/\s+/g, " ")
      .slice(0, 70);

  // A statement's entry covers the statement plus whitespace and comments around it, and the `;` that
  // ends a simple statement (outside the statement's AST range).
  const trivia = /^(?:\s|;|\/\/[^\n]*|\/\*[\s\S]*?\*\/)*$/;
  const entryOf = (statement: Node | undefined): Entry | undefined => {
    if (statement === undefined) return undefined;
    const [start, end] = range(statement);
    return entries
      .filter((e) => e.start <= start && end <= e.end)
      .filter((e) => trivia.test(text.slice(e.start, start)) && trivia.test(text.slice(end, e.end)))
      .sort((a, b) => a.end - a.start - (b.end - b.start))[0];
  };
  /** How many runs entered `body`: the count of the body itself, or of the statement it starts with. */
  const entered = (body: Node, what: string): number => {
    let first: Node | undefined = body;
    while (entryOf(first) === undefined && (first?.nodeType === "Block" || first?.nodeType === "UncheckedBlock")) {
      first = first.statements[0];
    }
    return countOf(first ?? body, what);
  };
  /** Whether control never falls out of the end of `body`. */
  const alwaysLeaves = (body: Node): boolean => {
    if (body.nodeType === "Block" || body.nodeType === "UncheckedBlock") {
      return body.statements.length > 0 && alwaysLeaves(body.statements[body.statements.length - 1]);
    }
    if (["Return", "RevertStatement", "Break", "Continue"].includes(body.nodeType)) return true;
    const call = body.nodeType === "ExpressionStatement" ? body.expression : undefined;
    return call?.nodeType === "FunctionCall" && call.expression.name === "revert";
  };
  const countOf = (statement: Node | undefined, what: string): number => {
    const entry = entryOf(statement);
    if (entry === undefined) throw new Error(`${file}:${statement ? lineOf(statement) : "?"}: no instrumented statement for ${what}`);
    return entry.count;
  };

  const branches: Branch[] = [];
  const unmeasured: Unmeasured[] = [];
  const visit = (node: Node, next: Node | undefined) => {
    const line = lineOf(node);
    switch (node.nodeType) {
      case "IfStatement": {
        const trueCount = entered(node.trueBody, "the true side");
        let falseCount: number;
        if (node.falseBody) {
          falseCount = entered(node.falseBody, "the else side");
        } else {
          falseCount = Math.max(0, countOf(node, "the if") - trueCount);
          if (next && alwaysLeaves(node.trueBody)) falseCount = Math.max(falseCount, countOf(next, "the statement after the if"));
        }
        const condition = codeOf(node.condition);
        branches.push({ line, kind: "if", side: "true", count: trueCount, condition });
        branches.push({ line, kind: "if", side: "false", count: falseCount, condition });
        break;
      }
      case "ForStatement":
      case "WhileStatement": {
        const kind = node.nodeType === "ForStatement" ? "for" : "while";
        const bodyCount = entered(node.body, "the loop body");
        const skipCount = Math.max(0, countOf(node, "the loop") - bodyCount);
        const condition = node.condition ? codeOf(node.condition) : "";
        branches.push({ line, kind, side: "body", count: bodyCount, condition });
        branches.push({ line, kind, side: "skip", count: skipCount, condition });
        break;
      }
      case "DoWhileStatement":
        unmeasured.push({ line, what: "do-while repeat/exit", code: `while (${codeOf(node.condition)})` });
        break;
      case "Conditional":
        unmeasured.push({ line, what: "?: operands", code: codeOf(node) });
        break;
      case "BinaryOperation":
        if (node.operator === "&&" || node.operator === "||") {
          unmeasured.push({ line, what: `${node.operator} short-circuit`, code: codeOf(node) });
        }
        break;
      case "YulIf":
      case "YulSwitch":
      case "YulForLoop":
        unmeasured.push({ line, what: `assembly ${node.nodeType.slice(3).toLowerCase()}`, code: codeOf(node) });
        break;
    }
    // Children; a statement's successor in its block is the statement after it.
    for (const value of Object.values(node)) {
      const children = (Array.isArray(value) ? value : [value]).filter((c) => c?.nodeType !== undefined);
      children.forEach((child, i) => visit(child, Array.isArray(value) ? children[i + 1] : undefined));
    }
  };
  visit(parse(file, text), undefined);

  branches.sort((a, b) => a.line - b.line);
  unmeasured.sort((a, b) => a.line - b.line);
  const taken = branches.filter((b) => b.count > 0).length;
  const percent = branches.length === 0 ? null : (100 * taken) / branches.length;
  // Tags change with any edit of the file: no statement hit at all means the data is not from this source.
  const stale = entries.length > 0 && entries.every((e) => e.count === 0);
  return { file, found: branches.length, taken, percent, branches, unmeasured, stale };
}

// ---------------------------------------------------------------- report

const hits = readHits();
const results = coveredSources().map((file) => analyseFile(file, hits));

const stale = results.filter((r) => r.stale).map((r) => r.file);
if (stale.length > 0) {
  console.error(`No statement of ${stale.join(", ")} ran: the file changed after \`hardhat test --coverage\`, or no test reaches it.`);
  process.exit(1);
}

const rows = [
  ["file", "branches", "taken", "%"],
  ...results.map((r) => [r.file, `${r.found}`, `${r.taken}`, r.percent === null ? "-" : r.percent.toFixed(2)]),
];
const total = results.reduce((t, r) => ({ found: t.found + r.found, taken: t.taken + r.taken }), { found: 0, taken: 0 });
rows.push(["all files", `${total.found}`, `${total.taken}`, ((100 * total.taken) / Math.max(1, total.found)).toFixed(2)]);
const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
console.log("\nBranch coverage (if: true/false; for, while: body/skip)\n");
for (const [i, row] of rows.entries()) {
  console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  "));
  if (i === 0 || i === rows.length - 2) console.log(widths.map((w) => "-".repeat(w)).join("  "));
}

const notTaken = results.flatMap((r) => r.branches.filter((b) => b.count === 0).map((b) => ({ file: r.file, ...b })));
console.log(`\nBranches never taken: ${notTaken.length}`);
for (const b of notTaken) console.log(`  ${b.file}:${b.line}  ${b.kind} ${b.side}  (${b.condition})`);

console.log("\nNot measured (check by hand):");
for (const r of results.filter((r) => r.unmeasured.length > 0)) {
  for (const u of r.unmeasured) console.log(`  ${r.file}:${u.line}  ${u.what}: ${u.code}`);
}

const outFile = path.join(COVERAGE_DIR, "branches.json");
const countMeans = "runs (transactions, calls, Solidity test runs) seen taking the side; a lower bound";
writeFileSync(outFile, JSON.stringify({ minPercent: MIN_PERCENT, countMeans, total, files: results }, null, 2) + "\n");
console.log(`\nWrote ${path.relative(ROOT, outFile)}`);

const below = results.filter((r) => r.percent !== null && r.percent < MIN_PERCENT);
if (below.length > 0) {
  console.error(`Branch coverage below ${MIN_PERCENT}%: ${below.map((r) => r.file).join(", ")}`);
  process.exitCode = 1;
}
