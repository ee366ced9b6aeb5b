/**
 * One delivery attempt: a signed POST to the endpoint's configured URL with a timeout. Redirects
 * are not followed (a 3xx is a failure), only 2xx is success, 410 Gone means "stop sending".
 */

import type { AttemptResultLabel } from '../observability/webhook-metrics.js';
import { RetryAbandoned } from '../pipeline/retry.js';
import { parseRetryAfter } from './retry-schedule.js';
import { signDelivery } from './signing.js';
import type { Endpoint } from './webhook-config.js';

export type AttemptResult =
  | { outcome: 'delivered'; status: number; ms: number }
  | { outcome: 'gone'; status: 410; ms: number }
  | { outcome: 'failed'; status?: number; error: string; retryAfterMs?: number; ms: number };

export function resultLabel(r: AttemptResult): AttemptResultLabel {
  if (r.status !== undefined)
    return `${Math.min(5, Math.max(2, Math.floor(r.status / 100)))}xx` as AttemptResultLabel;
  return r.outcome === 'failed' && r.error.startsWith('timeout') ? 'timeout' : 'network';
}

const USER_AGENT = 'keyguard-webhooks/0.1';

/**
 * `stop` aborts the attempt when the dispatcher shuts down: it then throws `RetryAbandoned` (the
 * delivery is not settled, the record is redone by the next owner) instead of counting a failure.
 */
export async function attemptDelivery(
  endpoint: Endpoint,
  webhookId: string,
  body: string,
  stop?: AbortSignal,
  now: () => number = Date.now,
): Promise<AttemptResult> {
  const started = performance.now();
  const ms = () => Math.round((performance.now() - started) * 10) / 10;
  const headers = {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    ...signDelivery(endpoint.secrets, webhookId, new Date(now()), body),
  };
  // One controller with a plain timer: AbortSignal.any(AbortSignal.timeout(…)) can lose its timeout
  // to garbage collection on Node 20, leaving a hanging request hanging forever.
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, endpoint.timeoutMs);
  const onStop = () => controller.abort();
  stop?.addEventListener('abort', onStop, { once: true });
  let res: Response;
  try {
    res = await fetch(endpoint.url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: controller.signal,
    });
    // The body is not needed; reading it (within the timeout) frees the connection for reuse.
    await res.arrayBuffer().catch(() => undefined);
  } catch (err) {
    if (stop?.aborted) throw new RetryAbandoned(err);
    if (timedOut) return { outcome: 'failed', error: `timeout after ${endpoint.timeoutMs} ms`, ms: ms() };
    const e = err as Error & { cause?: { code?: string } };
    return { outcome: 'failed', error: `network: ${e.cause?.code ?? e.message}`, ms: ms() };
  } finally {
    clearTimeout(timer);
    stop?.removeEventListener('abort', onStop);
  }
  if (res.status >= 200 && res.status < 300) return { outcome: 'delivered', status: res.status, ms: ms() };
  if (res.status === 410) return { outcome: 'gone', status: 410, ms: ms() };
  const error =
    res.status >= 300 && res.status < 400
      ? `HTTP ${res.status}: redirect not followed${res.headers.get('location') ? ` (to ${res.headers.get('location')})` : ''}`
      : `HTTP ${res.status}`;
  return {
    outcome: 'failed',
    status: res.status,
    error,
    retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), now()),
    ms: ms(),
  };
}
