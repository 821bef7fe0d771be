// MLflow webhook signatures: vectors computed by MLflow 3.17's own signing function
// (mlflow.webhooks.delivery._generate_hmac_signature), then every way a delivery must be refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPlinthError } from '../../src/errors.js';
import { signMlflowWebhook, verifyMlflowSignature } from '../../src/registry/index.js';

const PAYLOAD =
  '{"entity": "model_version_alias", "action": "created", "timestamp": "2026-11-26T17:00:00+00:00", "data": {"name": "default.churn", "alias": "champion", "version": "3"}}';
const SECRET = 'whsec-test-secret';
const DELIVERY = '7f9c2a4e-1b3d-4c5e-8f6a-0b1c2d3e4f50';
const TS = '1795712400';
const EXPECTED = 'v1,FQGQjZ+I/YDzDQrXCf03X9rzSzQqyVU6IFrj459R2s0=';

function verify(over: Partial<Parameters<typeof verifyMlflowSignature>[0]> = {}): void {
  verifyMlflowSignature({
    secret: SECRET,
    deliveryId: DELIVERY,
    timestamp: TS,
    signature: EXPECTED,
    payload: PAYLOAD,
    maxAgeSeconds: 300,
    nowMs: Number(TS) * 1000 + 5_000,
    ...over,
  });
}

function refused(over: Partial<Parameters<typeof verifyMlflowSignature>[0]>): void {
  assert.throws(
    () => verify(over),
    (err: unknown) => isPlinthError(err, 'WEBHOOK_SIGNATURE_INVALID'),
  );
}

describe('MLflow webhook signatures', () => {
  it('signs exactly as MLflow does', () => {
    assert.equal(signMlflowWebhook(SECRET, DELIVERY, TS, PAYLOAD), EXPECTED);
    // UTF-8 in the secret and the body, as Python encodes them.
    assert.equal(signMlflowWebhook('another secret ✓', 'd1', '1700000000', '{"a": "é"}'), 'v1,29w1h0fi5sORnbzmmgYVPjZxjRHgMA8s9PTm9sHcFUc=');
  });

  it('accepts a fresh delivery with the right signature, also among several signatures', () => {
    verify();
    verify({ signature: `v1,bm90LXRoaXMtb25l ${EXPECTED}` });
  });

  it('refuses a tampered body, another delivery id or timestamp, and another secret', () => {
    refused({ payload: PAYLOAD.replace('"3"', '"4"') });
    refused({ deliveryId: '00000000-0000-0000-0000-000000000000' });
    refused({ timestamp: String(Number(TS) + 1) });
    refused({ secret: 'wrong' });
  });

  it('refuses stale and future timestamps outside the allowed age', () => {
    refused({ nowMs: (Number(TS) + 301) * 1000 });
    refused({ nowMs: (Number(TS) - 301) * 1000 });
    verify({ nowMs: (Number(TS) + 299) * 1000 });
  });

  it('refuses missing headers, malformed timestamps and malformed signatures', () => {
    refused({ signature: undefined });
    refused({ deliveryId: undefined });
    refused({ timestamp: undefined });
    refused({ timestamp: '2026-11-26T17:00:00Z' });
    refused({ signature: EXPECTED.replace('v1,', 'v2,') });
    refused({ signature: EXPECTED.slice(0, -2) });
    refused({ signature: '' });
  });
});
