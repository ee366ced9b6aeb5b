/**
 * Standard Webhooks signing (https://www.standardwebhooks.com, the `standardwebhooks` package):
 * `webhook-id` is the recommendation's stable id (the receiver's idempotency key),
 * `webhook-timestamp` the attempt's time in seconds, `webhook-signature` one `v1,<base64>` per
 * secret, space-separated, so a receiver holding either the old or the new secret verifies
 * during a rotation.
 */
import { Webhook } from 'standardwebhooks';

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export function signDelivery(secrets: readonly string[], id: string, at: Date, body: string): SignedHeaders {
  // The spec signs whole seconds, as the header carries them (the library floors `at` too).
  const signature = secrets.map((s) => new Webhook(s).sign(id, at, body)).join(' ');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
  };
}
