// MLflow webhook signatures, as MLflow 3.x computes them (mlflow/webhooks/delivery.py):
//   X-MLflow-Signature: "v1," + base64(HMAC-SHA256(secret, "{delivery_id}.{timestamp}.{raw body}"))
//   X-MLflow-Delivery-Id: a UUID, X-MLflow-Timestamp: Unix seconds.
// The body is checked exactly as received, before any JSON parsing.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { PlinthError } from '../errors.js';

export const SIGNATURE_HEADER = 'x-mlflow-signature';
export const TIMESTAMP_HEADER = 'x-mlflow-timestamp';
export const DELIVERY_ID_HEADER = 'x-mlflow-delivery-id';

export function signMlflowWebhook(secret: string, deliveryId: string, timestamp: string, payload: string): string {
  const mac = createHmac('sha256', secret).update(`${deliveryId}.${timestamp}.${payload}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}

export interface VerifyInput {
  secret: string;
  deliveryId: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  payload: string;
  maxAgeSeconds: number;
  nowMs: number;
}

function invalid(detail: string): PlinthError {
  return new PlinthError('WEBHOOK_SIGNATURE_INVALID', detail);
}

/** Throws WEBHOOK_SIGNATURE_INVALID unless the delivery is signed with `secret` and fresh. */
export function verifyMlflowSignature(input: VerifyInput): void {
  const { deliveryId, timestamp, signature } = input;
  if (!deliveryId || !timestamp || !signature) throw invalid('X-MLflow-Delivery-Id, X-MLflow-Timestamp and X-MLflow-Signature are required.');
  if (!/^\d{1,12}$/.test(timestamp)) throw invalid('X-MLflow-Timestamp must be Unix seconds.');
  // Both directions: a timestamp from the future is as suspicious as an old one.
  if (Math.abs(input.nowMs / 1000 - Number(timestamp)) > input.maxAgeSeconds) throw invalid('The delivery is too old (or its timestamp is in the future).');
  const expected = Buffer.from(signMlflowWebhook(input.secret, deliveryId, timestamp, input.payload), 'utf8');
  // Standard Webhooks allows several space-separated signatures (key rotation); one match suffices.
  const ok = signature
    .split(' ')
    .filter(Boolean)
    .some((candidate) => {
      const given = Buffer.from(candidate, 'utf8');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  if (!ok) throw invalid('The signature does not match.');
}

/** The envelope MLflow posts: entity, action, an ISO timestamp and the event's data. */
export const webhookEnvelope = z.object({
  entity: z.string().min(1).max(100),
  action: z.string().min(1).max(100),
  timestamp: z.string().optional(),
  data: z
    .object({
      name: z.string().min(1).max(1000),
      version: z.union([z.string(), z.number()]).optional(),
      alias: z.string().optional(),
    })
    .loose(),
});

export type WebhookEnvelope = z.infer<typeof webhookEnvelope>;
