import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateKey } from '../../src/auth/keys.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { LogCapture } from '../helpers/platform.js';

describe('logger', () => {
  it('redacts credentials by field and scrubs key-shaped strings from messages and errors', () => {
    const logs = new LogCapture();
    const logger = createLogger({ destination: logs });
    const { key } = generateKey();
    logger.info({ req: { headers: { authorization: `Bearer ${key}` } } }, 'request');
    logger.info({ password: 'pw-123456', nested: { token: 'tok-123456', apiKey: key } }, 'fields');
    logger.info(`message containing ${key}`);
    logger.error({ err: new Error(`failed for ${key}`) }, 'error');
    const text = logs.text();
    assert.equal(logs.lines.length, 4);
    for (const secret of [key, 'pw-123456', 'tok-123456']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    assert.match(text, /\[redacted\]/);
    assert.match(text, /plk_\*\*\*\*/);
  });
});
