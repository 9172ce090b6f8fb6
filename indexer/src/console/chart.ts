import { escapeHtml as e } from "../web/html.js";

export type ChartPoint = { label: string; value: bigint; text: string };

/**
 * A bar chart as inline SVG, drawn on the server: one bar per point, scaled to the largest, with a title and
 * description for screen readers. Presentation attributes only (no style attribute), so it renders under
 * the console's `style-src 'self'`. Values are bigint base units; `text` is what a person reads.
 */
export function barChart(p: { id: string; title: string; description: string; points: ChartPoint[]; maxText: string }): string {
  const W = 600;
  const H = 160;
  const top = 18;
  const bottom = 22;
  const n = Math.max(p.points.length, 1);
  const slot = W / n;
  const bar = Math.max(1, slot * 0.7);
  const max = p.points.reduce((m, x) => (x.value > m ? x.value : m), 0n);
  const height = (v: bigint) => (max === 0n ? 0 : (Number((v * 10_000n) / max) / 10_000) * (H - top - bottom));
  const bars = p.points
    .map((pt, i) => {
      const h = height(pt.value);
      const x = i * slot + (slot - bar) / 2;
      const y = H - bottom - h;
      return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${bar.toFixed(1)}" height="${Math.max(h, pt.value > 0n ? 1 : 0).toFixed(
        1,
      )}" fill="#2563eb"><title>${e(pt.label)}: ${e(pt.text)}</title></rect>`;
    })
    .join("");
  const first = p.points[0]?.label ?? "";
  const last = p.points[p.points.length - 1]?.label ?? "";
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${p.id}-t ${p.id}-d">
<title id="${p.id}-t">${e(p.title)}</title><desc id="${p.id}-d">${e(p.description)}</desc>
<line x1="0" y1="${H - bottom}" x2="${W}" y2="${H - bottom}" stroke="#6b7280" stroke-width="1"/>
<line x1="0" y1="${top}" x2="${W}" y2="${top}" stroke="#d1d5db" stroke-width="1" stroke-dasharray="4 4"/>
<text x="2" y="${top - 5}" font-size="12" fill="#374151">${e(p.maxText)}</text>
${bars}
<text x="2" y="${H - 6}" font-size="12" fill="#374151">${e(first)}</text>
<text x="${W - 2}" y="${H - 6}" font-size="12" fill="#374151" text-anchor="end">${e(last)}</text>
</svg>`;
}
