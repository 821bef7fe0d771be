// Durable workflows (DBOS Transact): drift monitors and retraining pipelines.
export { createWorkflowService, type WorkflowService, type Caller, type StartRetrainResult } from './service.js';
export { startWorkflowEngine, systemDatabaseTarget, type WorkflowEngine, type WorkflowRole, RETRAIN_QUEUE, RETRAIN_WORKFLOW, TICK_WORKFLOW } from './dbos.js';
export { createWorkflowMetrics, type WorkflowMetrics } from './runtime.js';
export { adaptDrift, adaptRegistry, type DriftChecker, type ModelRegistry } from './ports.js';
export { createMlflowRuns } from './mlflow-runs.js';
export { evaluateGate } from './gate.js';
export * from './schema.js';
