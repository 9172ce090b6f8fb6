/**
 * A small Prometheus text-format registry: counters the jobs increment and gauges read when scraped.
 * Enough for `GET /metrics`; no client library needed.
 */
export type Labels = Record<string, string | number>;

export type Metrics = {
  /** adds `by` (default 1) to a counter */
  inc(name: string, labels?: Labels, by?: number): void;
  /** a gauge whose values are read at scrape time */
  gauge(name: string, help: string, read: () => Promise<[Labels, number][]> | [Labels, number][]): void;
  describe(name: string, help: string): void;
  /** the exposition text */
  render(): Promise<string>;
};

const key = (labels: Labels = {}) =>
  Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${String(v).replace(/["\\\n]/g, "_")}"`)
    .join(",");

export function createMetrics(prefix = "gateway_"): Metrics {
  const counters = new Map<string, Map<string, number>>();
  const helps = new Map<string, string>();
  const gauges = new Map<string, () => Promise<[Labels, number][]> | [Labels, number][]>();
  return {
    inc(name, labels, by = 1) {
      const series = counters.get(name) ?? new Map<string, number>();
      counters.set(name, series);
      const k = key(labels);
      series.set(k, (series.get(k) ?? 0) + by);
    },
    gauge(name, help, read) {
      helps.set(name, help);
      gauges.set(name, read);
    },
    describe(name, help) {
      helps.set(name, help);
    },
    async render() {
      const lines: string[] = [];
      for (const [name, series] of counters) {
        lines.push(`# HELP ${prefix}${name} ${helps.get(name) ?? name}`, `# TYPE ${prefix}${name} counter`);
        for (const [k, v] of series) lines.push(`${prefix}${name}${k ? `{${k}}` : ""} ${v}`);
      }
      for (const [name, read] of gauges) {
        lines.push(`# HELP ${prefix}${name} ${helps.get(name) ?? name}`, `# TYPE ${prefix}${name} gauge`);
        for (const [labels, v] of await read()) {
          const k = key(labels);
          lines.push(`${prefix}${name}${k ? `{${k}}` : ""} ${v}`);
        }
      }
      return lines.join("\n") + "\n";
    },
  };
}
