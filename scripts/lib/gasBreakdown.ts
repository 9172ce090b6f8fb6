/**
 * Where a transaction's gas goes, from `debug_traceTransaction`'s struct logs: the execution gas by opcode
 * class and call depth, cold/warm storage and account accesses, and the refund. Used to find what bounds a
 * gas figure (bench/README.md); not part of the measured figures.
 */
export type GasBreakdown = { total: number; byClass: Record<string, number>; executed: number; refund: number; steps: number };

const CLASSES: [RegExp, string][] = [
  [/^SLOAD$/, "SLOAD"],
  [/^SSTORE$/, "SSTORE"],
  [/^(T(LOAD|STORE))$/, "transient"],
  [/^LOG\d$/, "LOG"],
  [/^(CALL|STATICCALL|DELEGATECALL|CALLCODE)$/, "CALL*"],
  [/^CREATE2?$/, "CREATE"],
  [/^(EXTCODESIZE|EXTCODEHASH|EXTCODECOPY|BALANCE)$/, "account read"],
  [/^(KECCAK256|SHA3)$/, "KECCAK256"],
  [/^(MLOAD|MSTORE8?|MCOPY|CALLDATACOPY|RETURNDATACOPY|CODECOPY)$/, "memory"],
];

export async function gasBreakdown(
  provider: { request(a: { method: string; params: unknown[] }): Promise<any> },
  txHash: string,
): Promise<GasBreakdown> {
  const trace = await provider.request({ method: "debug_traceTransaction", params: [txHash, { disableStack: true }] });
  const byClass: Record<string, number> = {};
  const byOp: Record<string, number> = {};
  const logs: { op: string; gasCost: number; depth: number; refund?: number; gas: number }[] = trace.structLogs;
  for (let i = 0; i < logs.length; i++) {
    const l = logs[i];
    const cls = CLASSES.find(([re]) => re.test(l.op))?.[1] ?? "other";
    let cost = l.gasCost;
    const next = logs[i + 1];
    if ((cls === "CALL*" || cls === "CREATE") && next && next.depth === l.depth + 1) {
      // The step's own cost: the gas it took from the caller less what the callee used (counted at its depth).
      let j = i + 1;
      while (j < logs.length && logs[j].depth > l.depth) j++;
      const last = logs[j - 1];
      const calleeUsed = next.gas - (last.gas - last.gasCost);
      cost = j < logs.length ? l.gas - logs[j].gas - calleeUsed : l.gasCost;
    } else if ((cls === "CALL*" || cls === "CREATE") && next && next.depth === l.depth) {
      cost = l.gas - next.gas; // a precompile or an account without code: no steps of its own
    }
    const key = `d${l.depth} ${cls}`;
    byClass[key] = (byClass[key] ?? 0) + cost;
    if (process.env.GAS_BREAKDOWN === "ops" && l.depth === 1) byOp[l.op] = (byOp[l.op] ?? 0) + cost;
  }
  const executed = Object.values(byClass).reduce((a, b) => a + b, 0);
  if (process.env.GAS_BREAKDOWN === "ops") {
    const top = Object.entries(byOp)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25);
    console.log("  depth-1 gas by opcode:", top.map(([k, v]) => `${k}=${v}`).join(" "));
  }
  return { total: trace.gas, byClass, executed, refund: logs.at(-1)?.refund ?? 0, steps: logs.length };
}
