// Configuration: one validated, frozen object. See docs/configuration.md.
export { loadConfig, describeConfig } from './load.js';
export type { LoadConfigOptions } from './load.js';
export { configSchema, ENV_VARS, SSL_MODES } from './schema.js';
export type { Config } from './schema.js';
export { Secret, maskUrl, scrub } from './secret.js';
