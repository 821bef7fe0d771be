// The price table: what one call costs, from a YAML or JSON file (GATEWAY_PRICES_FILE) giving
// input and output prices per million tokens per model, with per-deployment (upstream) overrides:
//
//   cost = (tokens_in × input + tokens_out × output) / 1 000 000
//
// Lookup order for a call to `model` on upstream `u`: deployments[u][model], deployments[u]['*'],
// models[model], models[model without its ":tag"], default. No match means the cost is unknown
// (NULL in llm_usage), which is not the same as free.
import { readFileSync } from 'node:fs';
import { Counter, type Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PlinthError } from '../errors.js';

const price = z
  .object({
    input: z.number().min(0),
    output: z.number().min(0),
  })
  .strict();
export type Price = z.infer<typeof price>;

export const priceFileSchema = z
  .object({
    currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD').default('USD'),
    default: price.optional(),
    models: z.record(z.string().min(1), price).default({}),
    deployments: z.record(z.string().min(1), z.record(z.string().min(1), price)).default({}),
  })
  .strict();
export type PriceFile = z.infer<typeof priceFileSchema>;

export interface Prices {
  readonly currency: string;
  /** Whether a price table is configured at all. */
  readonly configured: boolean;
  /** The price applying to `model` on `upstream`, or undefined. */
  priceOf(model: string, upstream: string | null): Price | undefined;
  /** The cost of one call, or null when the model has no price. */
  cost(model: string, upstream: string | null, tokensIn: number, tokensOut: number): number | null;
  /** Count a call's cost on the cost metric. */
  observe(model: string, upstream: string | null, cost: number | null): void;
}

export function pricesFrom(table: PriceFile, registry?: Registry): Prices {
  const counter = registry ? costCounter(registry) : undefined;
  const priceOf = (model: string, upstream: string | null): Price | undefined => {
    const d = upstream ? table.deployments[upstream] : undefined;
    const bare = model.includes(':') ? model.slice(0, model.lastIndexOf(':')) : undefined;
    return d?.[model] ?? d?.['*'] ?? table.models[model] ?? (bare !== undefined ? table.models[bare] : undefined) ?? table.default;
  };
  return {
    currency: table.currency,
    configured: true,
    priceOf,
    cost(model, upstream, tokensIn, tokensOut) {
      const p = priceOf(model, upstream);
      if (!p) return null;
      // Rounded to the column's 10 decimals, so the metric and the table add up alike.
      return Math.round(((tokensIn * p.input + tokensOut * p.output) / 1_000_000) * 1e10) / 1e10;
    },
    observe(model, upstream, cost) {
      if (cost !== null && cost > 0) counter?.inc({ model, upstream: upstream ?? 'cache', currency: table.currency }, cost);
    },
  };
}

/** No price table: every cost is unknown. */
export function noPrices(): Prices {
  return { currency: 'USD', configured: false, priceOf: () => undefined, cost: () => null, observe: () => undefined };
}

/** Reads and checks the price file; a bad file stops start-up with the field that is wrong. */
export function loadPrices(file: string | undefined, registry?: Registry): Prices {
  if (!file) return noPrices();
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new PlinthError('CONFIG_INVALID', `GATEWAY_PRICES_FILE: cannot read ${file}: ${(err as Error).message.split('\n')[0] ?? ''}`);
  }
  const parsed = priceFileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new PlinthError('CONFIG_INVALID', `GATEWAY_PRICES_FILE (${file}) is invalid:\n  - ${problems.join('\n  - ')}`, { problems });
  }
  return pricesFrom(parsed.data, registry);
}

function costCounter(registry: Registry): Counter<'model' | 'upstream' | 'currency'> {
  const name = 'plinth_llm_cost_total';
  const existing = registry.getSingleMetric(name);
  // A registry shared by two platforms in one process (tests): reuse what is there.
  if (existing) return existing as Counter<'model' | 'upstream' | 'currency'>;
  return new Counter({
    name,
    help: 'Cost of LLM calls from the price table, by model, upstream and currency (cache hits cost nothing).',
    labelNames: ['model', 'upstream', 'currency'],
    registers: [registry],
  });
}
