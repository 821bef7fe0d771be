// Drift monitors, retraining and workflow management over HTTP. Thin: validate with the shared
// schemas, call platform.workflows, shape.
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Principal } from '../../auth/index.js';
import {
  createMonitorInput,
  listWorkflowsInput,
  monitorCheckOutput,
  monitorOutput,
  retrainRunOutput,
  retrainStartInput,
  updateMonitorInput,
  workflowIdParam,
  workflowOutput,
  type WorkflowService,
} from '../../workflows/index.js';
import { principalOf } from '../plugins/auth.js';

const audit = (p: Principal, requestId: string) => ({ actor: p.actor, requestId });
const caller = (p: Principal) => ({ tenantId: p.tenantId, root: p.isRootTenant && p.scopes.includes('admin') });
const monitorParams = z.object({ monitor: z.string().min(1).max(100).describe('Monitor id or name.') });
const workflowParams = z.object({ id: workflowIdParam });

export const workflowRoutes: FastifyPluginCallbackZod<{ workflows: WorkflowService }> = (app, { workflows }, done) => {
  app.post(
    '/v1/monitors',
    {
      config: { scope: 'drift:run' },
      schema: { tags: ['monitors'], summary: 'Create a drift monitor: a model, a reference profile, a cron schedule, a threshold and an optional retrain action.', body: createMonitorInput, response: { 201: monitorOutput } },
    },
    async (request, reply) => {
      const p = principalOf(request);
      return reply.code(201).send(await workflows.createMonitor(p.tenantId, request.body, audit(p, request.id)));
    },
  );

  app.get(
    '/v1/monitors',
    { config: { scope: 'drift:run' }, schema: { tags: ['monitors'], summary: 'List drift monitors.', response: { 200: z.object({ monitors: z.array(monitorOutput) }) } } },
    async (request) => ({ monitors: await workflows.listMonitors(principalOf(request).tenantId) }),
  );

  app.get(
    '/v1/monitors/:monitor',
    { config: { scope: 'drift:run' }, schema: { tags: ['monitors'], summary: 'Get a drift monitor.', params: monitorParams, response: { 200: monitorOutput } } },
    (request) => workflows.getMonitor(principalOf(request).tenantId, request.params.monitor),
  );

  app.patch(
    '/v1/monitors/:monitor',
    {
      config: { scope: 'drift:run' },
      schema: { tags: ['monitors'], summary: 'Change a drift monitor (retrain: null removes the retrain action).', params: monitorParams, body: updateMonitorInput, response: { 200: monitorOutput } },
    },
    (request) => {
      const p = principalOf(request);
      return workflows.updateMonitor(p.tenantId, request.params.monitor, request.body, audit(p, request.id));
    },
  );

  app.delete(
    '/v1/monitors/:monitor',
    { config: { scope: 'drift:run' }, schema: { tags: ['monitors'], summary: 'Delete a drift monitor and its check history.', params: monitorParams, response: { 200: monitorOutput } } },
    (request) => {
      const p = principalOf(request);
      return workflows.deleteMonitor(p.tenantId, request.params.monitor, audit(p, request.id));
    },
  );

  app.get(
    '/v1/monitors/:monitor/checks',
    {
      config: { scope: 'drift:run' },
      schema: {
        tags: ['monitors'],
        summary: 'Scheduled checks of a monitor, newest first.',
        params: monitorParams,
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }).strict(),
        response: { 200: z.object({ checks: z.array(monitorCheckOutput) }) },
      },
    },
    async (request) => ({ checks: await workflows.listChecks(principalOf(request).tenantId, request.params.monitor, request.query.limit) }),
  );

  app.post(
    '/v1/workflows/retrain',
    {
      config: { scope: 'workflows:run' },
      schema: {
        tags: ['workflows'],
        summary: 'Start a retraining workflow: train, evaluate against the champion, register, promote if better. A repeated idempotency_key returns the first run.',
        body: retrainStartInput,
        response: { 202: z.object({ workflow_id: z.string(), created: z.boolean(), run: retrainRunOutput }) },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      return reply.code(202).send(await workflows.startRetrain(p.tenantId, request.body, audit(p, request.id)));
    },
  );

  app.get(
    '/v1/workflows/:id',
    {
      config: { scope: 'workflows:run' },
      schema: {
        tags: ['workflows'],
        summary: 'Status of a workflow, with its retraining outcome; steps=true lists its checkpointed steps.',
        params: workflowParams,
        querystring: z.object({ steps: z.enum(['true', 'false']).optional() }).strict(),
        response: { 200: workflowOutput },
      },
    },
    (request) => workflows.getWorkflow(caller(principalOf(request)), request.params.id, { steps: request.query.steps === 'true' }),
  );

  app.get(
    '/v1/workflows',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['workflows'],
        summary: "List workflows, newest first: the tenant's retraining runs (every workflow for root-tenant admins).",
        querystring: listWorkflowsInput,
        response: { 200: z.object({ workflows: z.array(workflowOutput) }) },
      },
    },
    async (request) => ({ workflows: await workflows.listWorkflows(caller(principalOf(request)), request.query) }),
  );

  app.post(
    '/v1/workflows/:id/cancel',
    { config: { scope: 'admin' }, schema: { tags: ['workflows'], summary: 'Cancel a workflow: it stops at its next step.', params: workflowParams, response: { 200: workflowOutput } } },
    (request) => {
      const p = principalOf(request);
      return workflows.cancel(caller(p), request.params.id, audit(p, request.id));
    },
  );

  app.post(
    '/v1/workflows/:id/resume',
    {
      config: { scope: 'admin' },
      schema: { tags: ['workflows'], summary: 'Resume a cancelled or failed workflow from its last completed step.', params: workflowParams, response: { 200: workflowOutput } },
    },
    (request) => {
      const p = principalOf(request);
      return workflows.resume(caller(p), request.params.id, audit(p, request.id));
    },
  );

  done();
};
