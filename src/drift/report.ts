// The HTML drift report: one self-contained page (inline CSS and SVG, no scripts, no external
// assets) built from a check result's aggregated bins only, never from raw rows, so it stays a
// few tens of kilobytes whatever the size of the data.
import type { CheckResult, ColumnResult, SummaryBins } from './schema.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function num(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-4) return x.toExponential(3);
  return Number(x.toPrecision(4)).toString();
}

function count(x: number): string {
  return x.toLocaleString('en-US');
}

const W = 640;
const H = 220;
const PAD = { left: 48, right: 12, top: 12, bottom: 44 };
const REF_COLOR = '#3b6fb6';
const CUR_COLOR = '#e0782b';

function shares(counts: readonly number[], total: number): number[] {
  return counts.map((c) => (total > 0 ? c / total : 0));
}

function axes(maxShare: number): string {
  const ih = H - PAD.top - PAD.bottom;
  const ticks = [0, 0.5, 1].map((f) => {
    const y = PAD.top + ih * (1 - f);
    return `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}" class="grid"/><text x="${PAD.left - 6}" y="${y + 4}" text-anchor="end">${num(maxShare * f * 100)}%</text>`;
  });
  return ticks.join('');
}

function legend(): string {
  const y = H - 8;
  return (
    `<rect x="${PAD.left}" y="${y - 9}" width="10" height="10" fill="${REF_COLOR}" fill-opacity="0.55"/><text x="${PAD.left + 14}" y="${y}">reference</text>` +
    `<rect x="${PAD.left + 90}" y="${y - 9}" width="10" height="10" fill="${CUR_COLOR}" fill-opacity="0.55"/><text x="${PAD.left + 104}" y="${y}">current</text>`
  );
}

/** Overlaid histograms of reference and current shares per bin. */
export function histogramSvg(title: string, bins: Extract<SummaryBins, { kind: 'hist' }>, refTotal: number, curTotal: number): string {
  const r = shares(bins.reference, refTotal);
  const c = shares(bins.current, curTotal);
  const maxShare = Math.max(1e-12, ...r, ...c);
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const n = Math.max(1, r.length);
  const bw = iw / n;
  const bar = (s: number, i: number, color: string, label: string) => {
    const h = (s / maxShare) * ih;
    return `<rect x="${(PAD.left + i * bw).toFixed(2)}" y="${(PAD.top + ih - h).toFixed(2)}" width="${Math.max(0.5, bw - 1).toFixed(2)}" height="${h.toFixed(2)}" fill="${color}" fill-opacity="0.55"><title>${escapeHtml(label)} [${num(bins.edges[i])}, ${num(bins.edges[i + 1])}): ${num(s * 100)}%</title></rect>`;
  };
  const bars = r.map((s, i) => bar(s, i, REF_COLOR, 'reference')).join('') + c.map((s, i) => bar(s, i, CUR_COLOR, 'current')).join('');
  const lo = bins.edges[0];
  const hi = bins.edges[bins.edges.length - 1];
  const xl = `<text x="${PAD.left}" y="${H - PAD.bottom + 14}">${num(lo)}</text><text x="${W - PAD.right}" y="${H - PAD.bottom + 14}" text-anchor="end">${num(hi)}</text>`;
  return `<svg class="chart" role="img" aria-label="${escapeHtml(title)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">${axes(maxShare)}${bars}${xl}${legend()}</svg>`;
}

/** Grouped bars of reference and current shares per category. */
export function categorySvg(title: string, bins: Extract<SummaryBins, { kind: 'cat' }>, refTotal: number, curTotal: number): string {
  const labels = [...bins.categories];
  const refCounts = [...bins.reference];
  const curCounts = [...bins.current];
  if (bins.other_reference > 0 || bins.other_current > 0) {
    labels.push('(other)');
    refCounts.push(bins.other_reference);
    curCounts.push(bins.other_current);
  }
  const r = shares(refCounts, refTotal);
  const c = shares(curCounts, curTotal);
  const maxShare = Math.max(1e-12, ...r, ...c);
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const gw = iw / Math.max(1, labels.length);
  const bw = Math.max(1, (gw - 4) / 2);
  let bars = '';
  labels.forEach((label, i) => {
    const x = PAD.left + i * gw + 2;
    const hr = (r[i]! / maxShare) * ih;
    const hc = (c[i]! / maxShare) * ih;
    const short = label.length > 14 ? `${label.slice(0, 13)}…` : label;
    bars +=
      `<rect x="${x.toFixed(2)}" y="${(PAD.top + ih - hr).toFixed(2)}" width="${bw.toFixed(2)}" height="${hr.toFixed(2)}" fill="${REF_COLOR}" fill-opacity="0.8"><title>reference ${escapeHtml(label)}: ${num(r[i]! * 100)}%</title></rect>` +
      `<rect x="${(x + bw).toFixed(2)}" y="${(PAD.top + ih - hc).toFixed(2)}" width="${bw.toFixed(2)}" height="${hc.toFixed(2)}" fill="${CUR_COLOR}" fill-opacity="0.8"><title>current ${escapeHtml(label)}: ${num(c[i]! * 100)}%</title></rect>` +
      `<text x="${(x + bw).toFixed(2)}" y="${H - PAD.bottom + 14}" text-anchor="middle" class="cat">${escapeHtml(short)}</text>`;
  });
  return `<svg class="chart" role="img" aria-label="${escapeHtml(title)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">${axes(maxShare)}${bars}${legend()}</svg>`;
}

function score(c: ColumnResult): string {
  if (c.kind === 'p_value') return c.p_value_adjusted !== null && c.p_value_adjusted !== c.p_value ? `p = ${num(c.p_value)} (adj. ${num(c.p_value_adjusted)})` : `p = ${num(c.p_value)}`;
  if (c.kind === 'distance') return num(c.distance);
  return '—';
}

function verdict(c: ColumnResult): string {
  if (c.status === 'skipped') return '<span class="tag skip">skipped</span>';
  return c.drifted ? '<span class="tag drift">drift</span>' : '<span class="tag ok">no drift</span>';
}

function anchor(i: number): string {
  return `col-${i}`;
}

function columnSection(c: ColumnResult, i: number): string {
  const title = `${c.column} (${c.type})`;
  let chart = '<p class="muted">No values to chart.</p>';
  if (c.bins?.kind === 'hist') chart = histogramSvg(title, c.bins, c.reference.count, c.current.count);
  else if (c.bins?.kind === 'cat') chart = categorySvg(title, c.bins, c.reference.count, c.current.count);
  const outside =
    c.bins?.kind === 'hist' && ((c.bins.current_below ?? 0) > 0 || (c.bins.current_above ?? 0) > 0)
      ? `<p class="muted">Current values outside the reference range: ${count(c.bins.current_below ?? 0)} below, ${count(c.bins.current_above ?? 0)} above.</p>`
      : '';
  const test = c.test ? `${escapeHtml(c.test_title ?? c.test)}: ${score(c)}, threshold ${num(c.threshold)}${c.threshold_source === 'calibrated' ? ' (calibrated)' : ''}${c.approximate ? ', approximate (reference profile)' : ''}` : escapeHtml(c.reason ?? '');
  const lengths = c.type === 'text' ? '<p class="muted">Text column: the chart and the test use text lengths.</p>' : '';
  return `<section id="${anchor(i)}" class="column"><h2>${escapeHtml(c.column)} <small>${c.type}</small> ${verdict(c)}</h2><p>${test}</p>${lengths}${chart}${outside}</section>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:980px;color:#1d2430;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 4px}h2 small{color:#667;font-weight:normal}
.banner{padding:12px 16px;border-radius:6px;margin:12px 0 20px}.banner.drift{background:#fde8e6;border:1px solid #e5a39c}.banner.ok{background:#e7f5ea;border:1px solid #9fd0aa}
table{border-collapse:collapse;width:100%;margin-bottom:24px}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e3e6ea;font-variant-numeric:tabular-nums}th{background:#f4f6f8}
.tag{display:inline-block;padding:0 6px;border-radius:4px;font-size:12px}.tag.drift{background:#d9483b;color:#fff}.tag.ok{background:#3f9b55;color:#fff}.tag.skip{background:#99a;color:#fff}
.column{margin:0 0 28px}.muted{color:#667}
svg.chart{max-width:100%;height:auto;font-size:11px;fill:#334}svg .grid{stroke:#e3e6ea}svg text.cat{font-size:10px}
`;

export interface ReportMeta {
  title?: string;
  id?: string;
  createdAt?: string;
}

export function renderReport(result: CheckResult, meta: ReportMeta = {}): string {
  const title = meta.title ?? result.name ?? 'Drift report';
  const rows = result.columns
    .map(
      (c, i) =>
        `<tr><td><a href="#${anchor(i)}">${escapeHtml(c.column)}</a></td><td>${c.type}</td><td>${c.test ? escapeHtml(c.test) : '—'}</td><td>${score(c)}</td><td>${num(c.threshold)}</td><td>${verdict(c)}</td><td>${count(c.reference.missing)} / ${count(c.current.missing)}</td></tr>`,
    )
    .join('');
  const when = meta.createdAt ?? result.created_at;
  const facts = [
    `${result.drifted_columns} of ${result.checked_columns} checked columns drifted (${num(result.share_drifted * 100)}%; dataset drift at ≥ ${num(result.drift_share * 100)}%)`,
    `reference ${count(result.reference_rows)} rows${result.reference_profile_id ? ` (profile ${escapeHtml(result.reference_profile_id)})` : ''}, current ${count(result.current_rows)} rows`,
    result.correction !== 'none' ? `p-values corrected with ${escapeHtml(result.correction)}` : '',
    when ? `checked ${escapeHtml(when)}` : '',
    meta.id ?? result.id ? `check ${escapeHtml((meta.id ?? result.id)!)}` : '',
  ].filter(Boolean);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body><h1>${escapeHtml(title)}</h1>
<div class="banner ${result.dataset_drift ? 'drift' : 'ok'}" id="verdict"><strong>${result.dataset_drift ? 'Dataset drift detected' : 'No dataset drift'}</strong><br>${facts.join('<br>')}</div>
<table id="summary"><thead><tr><th>column</th><th>type</th><th>test</th><th>score</th><th>threshold</th><th>verdict</th><th>missing (ref / cur)</th></tr></thead><tbody>${rows}</tbody></table>
${result.columns.map(columnSection).join('\n')}
</body></html>
`;
}
