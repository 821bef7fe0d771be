// Drift detection: the public surface (statistics live in ./stats).
export { createDriftService, type DriftService, type DriftServiceDeps, type CheckRequest, type ProfileRecord } from './service.js';
export { runCheck, createReferenceProfile, adjustPValues, calibrateColumn, type Reference, type ProfileOptions } from './check.js';
export { runCheckParallel, SidePool, sidePool, PARALLEL_MIN_VALUES } from './parallel.js';
export { datasetFromColumns, datasetFromRows, type Dataset, type RawColumn } from './dataset.js';
export { SKETCH_SIZE, profileSummary, type ReferenceProfile, type ProfileColumn } from './profile.js';
export { renderReport, escapeHtml } from './report.js';
export { TESTS, defaultTest } from './tests.js';
export * from './schema.js';
export * from './readers/index.js';
