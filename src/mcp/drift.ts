// Drift detection over MCP: the same use cases and schemas as /v1/drift, as two tools.
import { z } from 'zod';
import { checkInput, checkResult } from '../drift/index.js';
import { auditOf, defineTool, type McpTool } from './tools.js';

export const driftCheck = defineTool({
  name: 'drift_check',
  title: 'Check data drift',
  description:
    'Compare current data with reference data (inline columns or rows, a stored profile id, or the inference log of a model over a time ' +
    'window) column by column, with Evidently-compatible default tests. Returns per-column tests, scores, thresholds and drift flags, ' +
    'and whether the dataset drifted. The result is stored; drift_report renders it as HTML.',
  scope: 'drift:run',
  input: checkInput,
  output: checkResult,
  // Each call stores a new check: not idempotent, but it changes nothing that exists.
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  run: (ctx, args) => ctx.platform.drift.check(ctx.principal.tenantId, args, auditOf(ctx)),
});

export const driftReport = defineTool({
  name: 'drift_report',
  title: 'Drift report',
  description: 'The self-contained HTML report (summary table and SVG charts, no scripts) of a stored drift check, by its id.',
  scope: 'drift:run',
  input: z.object({ check_id: z.uuid() }).strict(),
  output: z.object({ check_id: z.uuid(), dataset_drift: z.boolean(), html: z.string() }),
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  run: async (ctx, args) => {
    const tenant = ctx.principal.tenantId;
    const check = await ctx.platform.drift.getCheck(tenant, args.check_id);
    return { check_id: args.check_id, dataset_drift: check.dataset_drift, html: await ctx.platform.drift.report(tenant, args.check_id) };
  },
});

export const DRIFT_TOOLS: readonly McpTool[] = [driftCheck, driftReport];
