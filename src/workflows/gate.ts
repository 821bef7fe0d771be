// The promotion gate: a candidate replaces the champion only if it is at least `min_improvement`
// better on every declared metric. For direction `max` the improvement is candidate − champion;
// for `min` it is champion − candidate. With no champion yet, the candidate passes.
import type { GateMetric } from './schema.js';

export interface GateDecision {
  pass: boolean;
  reason: string;
}

/** Metric values kept as version tags so a later run can read the champion's numbers. */
export const METRIC_TAG_PREFIX = 'plinth.metric.';

export function metricsFromTags(tags: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(tags)) {
    if (!k.startsWith(METRIC_TAG_PREFIX)) continue;
    const n = Number(v);
    if (Number.isFinite(n)) out[k.slice(METRIC_TAG_PREFIX.length)] = n;
  }
  return out;
}

export function evaluateGate(gate: readonly GateMetric[], candidate: Record<string, number>, champion: Record<string, number> | null): GateDecision {
  const missing = gate.filter((g) => candidate[g.metric] === undefined).map((g) => g.metric);
  if (missing.length > 0) return { pass: false, reason: `the candidate did not report ${missing.join(', ')}` };
  if (champion === null) return { pass: true, reason: 'no champion yet' };
  const verdicts: string[] = [];
  for (const g of gate) {
    const cand = candidate[g.metric]!;
    const champ = champion[g.metric];
    if (champ === undefined) return { pass: false, reason: `the champion has no ${g.metric} to compare with` };
    const improvement = g.direction === 'max' ? cand - champ : champ - cand;
    const ok = improvement >= g.min_improvement;
    verdicts.push(`${g.metric} ${fmt(cand)} vs champion ${fmt(champ)} (${g.direction}, improvement ${fmt(improvement)}, needed ${fmt(g.min_improvement)})`);
    if (!ok) return { pass: false, reason: `not better: ${verdicts[verdicts.length - 1]!}` };
  }
  return { pass: true, reason: `better: ${verdicts.join('; ')}` };
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toPrecision(6).replace(/\.?0+$/, '');
}
