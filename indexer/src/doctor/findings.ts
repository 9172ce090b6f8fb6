/**
 * What the doctor reports: one finding per check and subject (a chain, a token, a merchant), each saying
 * what it found and, when something is wrong, what to run or change to fix it.
 */
export type CheckName =
  | "store"
  | "master-key"
  | "rpc"
  | "chain-id"
  | "head"
  | "follower"
  | "vault-code"
  | "vault-paused"
  | "operator-key"
  | "operator-role"
  | "operator-balance"
  | "token-allowlisted"
  | "merchant-registered"
  | "merchant-signer"
  | "merchant-fee"
  | "webhook-backlog"
  | "price-feed";

export type FindingStatus = "ok" | "warn" | "fail";

export type Finding = {
  check: CheckName;
  status: FindingStatus;
  /**
   * While a blocking finding fails the gateway cannot follow payments (store down, RPC silent or on the wrong
   * chain, head stalled, no vault): `/health` answers 503. Other failures are listed but keep the API up.
   */
  blocking: boolean;
  chainId?: number;
  /** decimal merchant id, on findings about one merchant */
  merchantId?: string;
  /** token address, on findings about one token */
  token?: string;
  message: string;
  /** what to run or change; present whenever status is not "ok" */
  fix?: string;
};

export type DoctorReport = {
  /** no finding fails */
  ok: boolean;
  /** no blocking finding fails (what `/health` answers on) */
  healthy: boolean;
  checkedAt: string;
  findings: Finding[];
};

export function reportOf(findings: Finding[], at = new Date()): DoctorReport {
  return {
    ok: findings.every((f) => f.status !== "fail"),
    healthy: findings.every((f) => f.status !== "fail" || !f.blocking),
    checkedAt: at.toISOString(),
    findings,
  };
}

/** The findings that are not ok. */
export const problemsOf = (report: DoctorReport): Finding[] => report.findings.filter((f) => f.status !== "ok");

/**
 * What the doctor says is wrong for one merchant: the findings about that merchant, and the problems of
 * the gateway or of a chain that hold up every merchant there (a stalled chain, a token not allowlisted).
 */
export function findingsForMerchant(report: DoctorReport, merchantId: bigint | string): Finding[] {
  const id = String(merchantId);
  return report.findings.filter((f) => (f.merchantId === undefined ? f.status !== "ok" : f.merchantId === id));
}

const MARK = { ok: "ok  ", warn: "WARN", fail: "FAIL" } as const;

/** One line per finding (problems with their fix on the next line), for the CLI and the logs. */
export function formatReport(report: DoctorReport, { verbose = false }: { verbose?: boolean } = {}): string {
  const lines: string[] = [];
  for (const f of report.findings) {
    if (f.status === "ok" && !verbose) continue;
    const scope = [f.chainId !== undefined ? `chain ${f.chainId}` : "", f.merchantId !== undefined ? `merchant ${f.merchantId}` : ""]
      .filter(Boolean)
      .join(", ");
    lines.push(`${MARK[f.status]} ${f.check}${scope ? ` (${scope})` : ""}: ${f.message}`);
    if (f.fix) lines.push(`     fix: ${f.fix}`);
  }
  const problems = problemsOf(report);
  const fails = problems.filter((f) => f.status === "fail").length;
  lines.push(
    problems.length === 0
      ? `all ${report.findings.length} checks passed`
      : `${fails} failing, ${problems.length - fails} warning(s), ${report.findings.length - problems.length} ok${report.healthy ? "" : " (blocking: /health answers 503)"}`,
  );
  return lines.join("\n");
}
