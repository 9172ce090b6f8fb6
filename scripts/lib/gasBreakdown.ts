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

export async function gasBreakdown(provider: { request(a: { method: string; params: unknown[] }): Promise<any> }, txHash: string): Promise<GasBreakdown> {
  const trace = await provider.request({ method: "debug_traceTransaction", params: [txHash, { disableStack: true }] });
  const byClass: Record<string, number> = {};
  const logs: { op: string; gasCost: number; depth: number; refund?: number; gas: number }[] = trace.structLogs;
  for (let i = 0; i < logs.length; i++) {
    const l = logs[i];
    const cls = CLASSES.find(([re]) => re.test(l.op))?.[1] ?? "other";
    // A call's gasCost includes the gas it hands over; count only what the caller keeps (the access and value costs).
    let cost = l.gasCost;
    const next = logs[i + 1];
    if ((cls === "CALL*" || cls === "CREATE") && next && next.depth === l.depth + 1) cost = l.gasCost - next.gas;
    const key = `d${l.depth} ${cls}`;
    byClass[key] = (byClass[key] ?? 0) + cost;
  }
  const executed = Object.values(byClass).reduce((a, b) => a + b, 0);
  return { total: trace.gas, byClass, executed, refund: logs.at(-1)?.refund ?? 0, steps: logs.length };
}
