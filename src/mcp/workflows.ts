// Durable workflows over MCP: start a retraining workflow, read a workflow's status. The same
// schemas and use cases as POST /v1/workflows/retrain and GET /v1/workflows/{id}.
import { z } from 'zod';
import { retrainRunOutput, retrainStartInput, workflowIdParam, workflowOutput } from '../workflows/index.js';
import { auditOf, defineTool, type McpContext, type McpTool } from './tools.js';

const caller = (ctx: McpContext) => ({ tenantId: ctx.principal.tenantId, root: ctx.principal.isRootTenant && ctx.principal.scopes.includes('admin') });

export const retrainStart = defineTool({
  name: 'retrain_start',
  title: 'Start retraining',
  description:
    'Start a durable retraining workflow for a model: run the training action, compare the candidate with the current champion ' +
    'on the gate metrics, register the new version with lineage tags, and move the champion alias only if the candidate is better. ' +
    "Give an action and gate, or a monitor_id whose monitor has a retrain configuration. Returns the workflow id; poll workflow_status for the outcome. " +
    'A repeated idempotency_key returns the first workflow.',
  scope: 'workflows:run',
  input: retrainStartInput,
  output: z.object({ workflow_id: z.string(), created: z.boolean(), run: retrainRunOutput }),
  // With an idempotency_key a repeat is harmless; without one each call trains a new candidate.
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  run: (ctx, args) => ctx.platform.workflows.startRetrain(ctx.principal.tenantId, args, auditOf(ctx)),
});

export const workflowStatus = defineTool({
  name: 'workflow_status',
  title: 'Workflow status',
  description:
    'Status of a workflow (ENQUEUED, PENDING, SUCCESS, ERROR, CANCELLED) with its retraining outcome: promoted or rejected and why, ' +
    'candidate and champion metrics, the registered version. steps=true lists the checkpointed steps.',
  scope: 'workflows:run',
  input: z.object({ workflow_id: workflowIdParam.describe('The id retrain_start returned.'), steps: z.boolean().default(false) }).strict(),
  output: workflowOutput,
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  run: (ctx, args) => ctx.platform.workflows.getWorkflow(caller(ctx), args.workflow_id, { steps: args.steps }),
});

export const WORKFLOW_TOOLS: readonly McpTool[] = [retrainStart, workflowStatus];
