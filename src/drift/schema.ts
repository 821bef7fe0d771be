// Drift inputs and results as zod schemas, shared by the HTTP routes, the MCP tools and the CLI.
import { z } from 'zod';

export const COLUMN_TYPES = ['num', 'cat', 'text'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** Canonical test names (Evidently's where it has one) and the aliases accepted for them. */
export const TEST_NAMES = ['ks', 'chisquare', 'z', 'wasserstein', 'jensenshannon', 'psi', 'kl_div', 'hellinger', 'anderson', 'cvm', 'energy', 't_test', 'mannw'] as const;
export type TestName = (typeof TEST_NAMES)[number];
export const TEST_ALIASES: Readonly<Record<string, TestName>> = {
  kl: 'kl_div',
  cramer_von_mises: 'cvm',
  ed: 'energy',
  energy_distance: 'energy',
  js: 'jensenshannon',
  chi2: 'chisquare',
  mann_whitney: 'mannw',
  ttest: 't_test',
  wasserstein_norm: 'wasserstein',
};

export const testName = z
  .string()
  .transform((s, ctx) => {
    const name = (TEST_NAMES as readonly string[]).includes(s) ? (s as TestName) : TEST_ALIASES[s];
    if (!name) {
      ctx.addIssue({ code: 'custom', message: `unknown test "${s}"; known: ${TEST_NAMES.join(', ')}` });
      return z.NEVER;
    }
    return name;
  })
  .meta({ description: `one of ${TEST_NAMES.join(', ')} (aliases: ${Object.keys(TEST_ALIASES).join(', ')})` });

export const CORRECTIONS = ['none', 'bonferroni', 'benjamini-hochberg'] as const;
export type Correction = (typeof CORRECTIONS)[number];

const columnName = z.string().min(1).max(200);

export const checkOptions = z
  .object({
    columns: z.record(columnName, z.enum(COLUMN_TYPES)).optional().describe('declared column types; others are inferred (numbers → num, anything else → cat)'),
    exclude: z.array(columnName).max(1000).optional().describe('columns not to check'),
    test: testName.optional().describe('one test for every column instead of the preset'),
    tests: z.record(columnName, testName).optional().describe('per-column tests (win over `test`)'),
    threshold: z.number().positive().max(1000).optional().describe('one threshold for every column instead of the test default'),
    thresholds: z.record(columnName, z.number().positive().max(1000)).optional(),
    drift_share: z.number().gt(0).max(1).default(0.5).describe('dataset drift when drifted columns / checked columns ≥ this'),
    correction: z.enum(CORRECTIONS).default('none').describe('multiple-testing correction of p-values across columns'),
    calibrate: z
      .object({
        chunks: z.number().int().min(3).max(50).default(5),
        sigmas: z.number().positive().max(10).default(3),
      })
      .optional()
      .describe('thresholds from the reference itself: each of k chunks against the rest, threshold = mean ± sigmas·σ'),
  })
  .strict();
export type CheckOptionsInput = z.input<typeof checkOptions>;
export type CheckOptions = z.output<typeof checkOptions>;

const MAX_INLINE_ROWS = 1_000_000;
const cell = z.union([z.number(), z.string(), z.boolean(), z.null()]);

export const inlineData = z.union([
  z.object({ columns: z.record(columnName, z.array(cell).max(MAX_INLINE_ROWS)) }).strict(),
  z.object({ rows: z.array(z.record(columnName, cell)).max(MAX_INLINE_ROWS) }).strict(),
]);
export type InlineData = z.infer<typeof inlineData>;

export const inferenceLogSource = z
  .object({
    source: z.literal('inference_log'),
    model: z.string().min(1).max(200),
    from: z.iso.datetime({ offset: true }).describe('inclusive start'),
    to: z.iso.datetime({ offset: true }).describe('exclusive end'),
    limit: z.number().int().min(1).max(MAX_INLINE_ROWS).optional().describe('most recent rows at most (default 200,000)'),
  })
  .strict();
export type InferenceLogSource = z.infer<typeof inferenceLogSource>;

export const dataInput = z.union([inlineData, inferenceLogSource]);
export type DataInput = z.infer<typeof dataInput>;

export const referenceInput = z.union([inlineData, inferenceLogSource, z.object({ profile_id: z.uuid() }).strict(), z.object({ profileId: z.uuid() }).strict()]);
export type ReferenceInput = z.infer<typeof referenceInput>;

export const checkInput = z
  .object({
    reference: referenceInput,
    current: dataInput,
    options: checkOptions.optional(),
    name: z.string().max(200).optional().describe('a label stored with the check'),
  })
  .strict();
export type CheckInput = z.input<typeof checkInput>;

export const profileInput = z
  .object({
    name: z.string().min(1).max(200),
    data: dataInput,
    columns: z.record(columnName, z.enum(COLUMN_TYPES)).optional(),
    exclude: z.array(columnName).max(1000).optional(),
    calibrate: checkOptions.shape.calibrate,
  })
  .strict();
export type ProfileInput = z.input<typeof profileInput>;

// ---------- results ----------

export const numericBins = z.object({
  kind: z.literal('hist'),
  edges: z.array(z.number()),
  reference: z.array(z.number()),
  current: z.array(z.number()),
  /** Current values outside the reference edges (profile checks only). */
  current_below: z.number().optional(),
  current_above: z.number().optional(),
});
export const categoryBins = z.object({
  kind: z.literal('cat'),
  categories: z.array(z.string()),
  reference: z.array(z.number()),
  current: z.array(z.number()),
  /** Counts of categories beyond the ones listed. */
  other_reference: z.number(),
  other_current: z.number(),
});
export const summaryBins = z.discriminatedUnion('kind', [numericBins, categoryBins]);
export type SummaryBins = z.infer<typeof summaryBins>;

export const columnResult = z.object({
  column: z.string(),
  type: z.enum(COLUMN_TYPES),
  status: z.enum(['checked', 'skipped']),
  reason: z.string().optional(),
  test: z.enum(TEST_NAMES).nullable(),
  test_title: z.string().nullable(),
  kind: z.enum(['p_value', 'distance']).nullable(),
  statistic: z.number().nullable(),
  p_value: z.number().nullable(),
  p_value_adjusted: z.number().nullable(),
  distance: z.number().nullable(),
  threshold: z.number().nullable(),
  threshold_source: z.enum(['default', 'option', 'calibrated']).nullable(),
  drifted: z.boolean(),
  /** True when the reference came from a profile sketch and the test is an approximation on it. */
  approximate: z.boolean(),
  reference: z.object({ count: z.number(), missing: z.number() }),
  current: z.object({ count: z.number(), missing: z.number() }),
  bins: summaryBins.nullable(),
});
export type ColumnResult = z.infer<typeof columnResult>;

export const checkResult = z.object({
  id: z.uuid().optional(),
  name: z.string().nullable().optional(),
  created_at: z.string().optional(),
  reference_profile_id: z.string().nullable(),
  dataset_drift: z.boolean(),
  drift_share: z.number(),
  drifted_columns: z.number(),
  checked_columns: z.number(),
  share_drifted: z.number(),
  correction: z.enum(CORRECTIONS),
  reference_rows: z.number(),
  current_rows: z.number(),
  ignored_columns: z.array(z.string()),
  columns: z.array(columnResult),
  duration_ms: z.number(),
});
export type CheckResult = z.infer<typeof checkResult>;
