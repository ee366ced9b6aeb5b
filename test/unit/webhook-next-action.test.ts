import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import type { Delivery } from '../../src/webhooks/delivery.js';
import { decodeDelivery, decodeRecommendation, fanOut } from '../../src/webhooks/intake.js';
import { beforeAttempt, nextAction } from '../../src/webhooks/next-action.js';
import { parseWebhookConfig } from '../../src/webhooks/webhook-config.js';
import { newSecret, recommendation } from '../helpers/webhooks.js';

const cfg = parseWebhookConfig(
  {
    endpoints: [
      {
        id: 'live',
        url: 'https://x.example/h',
        secrets: [newSecret()],
        filter: { recommendations: ['revoke_key'] },
      },
      {
        id: 'dry',
        url: 'https://y.example/h',
        secrets: [newSecret()],
        dryRun: true,
        filter: { recommendations: ['revoke_key'] },
      },
      {
        id: 'reviews',
        url: 'https://z.example/h',
        secrets: [newSecret()],
        filter: { recommendations: ['review'] },
      },
    ],
    retry: { initialDelayMs: 1000, maxDelayMs: 8000, maxAttempts: 3, giveUpAfterMs: 60_000 },
  },
  'test',
  {},
);
const live = cfg.endpoints[0]!;
const NOW = 1_700_000_000_000;

function delivery(over: Partial<Delivery> = {}): Delivery {
  return {
    webhookId: 'w1',
    endpointId: 'live',
    recommendation: recommendation(),
    attempts: 0,
    dueAt: NOW,
    firstSeenAt: NOW,
    ...over,
  };
}
const open = { endpoint: live, disabledWhy: undefined, laneFull: false };

describe('before an attempt', () => {
  it('attempts when the endpoint is configured, enabled and has room', () => {
    expect(beforeAttempt(delivery(), open, cfg, NOW)).toEqual({ kind: 'attempt', endpoint: live });
  });

  it('dead-letters a delivery for an endpoint no longer configured (gave up)', () => {
    const a = beforeAttempt(delivery({ endpointId: 'gone' }), { ...open, endpoint: undefined }, cfg, NOW);
    expect(a).toMatchObject({ kind: 'dead_letter', code: ErrorCodes.WEBHOOK_GAVE_UP, reason: 'gave_up' });
    expect(a.kind === 'dead_letter' && a.detail).toMatch(/no longer configured/);
  });

  it('a dry-run endpoint is never attempted, even when disabled or busy', () => {
    const dry = cfg.endpoints[1]!;
    expect(beforeAttempt(delivery(), { endpoint: dry, disabledWhy: 'x', laneFull: true }, cfg, NOW)).toEqual({
      kind: 'dry_run',
    });
  });

  it('dead-letters a delivery for a disabled endpoint with the reason it was disabled', () => {
    const a = beforeAttempt(delivery(), { ...open, disabledWhy: '410 Gone at T' }, cfg, NOW);
    expect(a).toMatchObject({
      kind: 'dead_letter',
      code: ErrorCodes.WEBHOOK_ENDPOINT_DISABLED,
      reason: 'endpoint_disabled',
      detail: 'endpoint disabled: 410 Gone at T',
    });
  });

  it('parks a delivery for a busy endpoint one initial delay later, attempts unchanged', () => {
    const a = beforeAttempt(delivery({ attempts: 1 }), { ...open, laneFull: true }, cfg, NOW);
    expect(a).toMatchObject({ kind: 'park', why: 'endpoint busy' });
    expect(a.kind === 'park' && [a.delivery.dueAt, a.delivery.attempts]).toEqual([NOW + 1000, 1]);
  });
});

describe('after an attempt (nextAction)', () => {
  it('delivered ends the delivery', () => {
    expect(nextAction({ outcome: 'delivered', status: 204, ms: 5 }, delivery(), cfg, NOW)).toEqual({
      kind: 'delivered',
    });
  });

  it('410 Gone disables the endpoint and dead-letters the delivery as it was', () => {
    const d = delivery();
    const a = nextAction({ outcome: 'gone', status: 410, ms: 5 }, d, cfg, NOW);
    expect(a.kind).toBe('disable');
    if (a.kind !== 'disable') return;
    expect(a.why).toBe(`410 Gone at ${new Date(NOW).toISOString()}`);
    expect(a.deadLetter).toMatchObject({ code: ErrorCodes.WEBHOOK_ENDPOINT_DISABLED, delivery: d });
  });

  it('a failure is retried after the backoff, counting the attempt and keeping the error', () => {
    const a = nextAction(
      { outcome: 'failed', status: 503, error: 'HTTP 503', ms: 5 },
      delivery(),
      cfg,
      NOW,
      () => 0,
    );
    expect(a).toMatchObject({ kind: 'retry', delayMs: 500, error: 'HTTP 503' });
    expect(a.kind === 'retry' && a.delivery).toMatchObject({
      attempts: 1,
      lastError: 'HTTP 503',
      dueAt: NOW + 500,
    });
  });

  it('Retry-After is honoured (up to the configured ceiling)', () => {
    const a = nextAction(
      { outcome: 'failed', status: 429, error: 'HTTP 429', retryAfterMs: 7000, ms: 5 },
      delivery(),
      cfg,
      NOW,
      () => 0,
    );
    expect(a.kind === 'retry' && a.delayMs).toBe(7000);
  });

  it('the last allowed attempt failing gives up with the attempt count and the last error', () => {
    const a = nextAction(
      { outcome: 'failed', error: 'timeout after 5000 ms', ms: 5000 },
      delivery({ attempts: 2 }),
      cfg,
      NOW,
    );
    expect(a).toMatchObject({ kind: 'dead_letter', code: ErrorCodes.WEBHOOK_GAVE_UP, reason: 'gave_up' });
    if (a.kind !== 'dead_letter') return;
    expect(a.delivery.attempts).toBe(3);
    expect(a.detail).toBe('3 attempts failed; last error: timeout after 5000 ms');
  });

  it('a failure past the give-up time gives up even with attempts left', () => {
    const a = nextAction(
      { outcome: 'failed', error: 'network', ms: 5 },
      delivery({ firstSeenAt: NOW - 59_900 }),
      cfg,
      NOW,
    );
    expect(a).toMatchObject({ kind: 'dead_letter', why: expect.stringMatching(/still failing after 60 s/) });
  });
});

describe('intake', () => {
  it('fans a recommendation out to the endpoints whose filter wants it', () => {
    const rec = recommendation({ recommendation: 'revoke_key' });
    const out = fanOut(rec, undefined, cfg.endpoints, NOW, NOW - 20);
    expect(out.deliveries.map((d) => d.endpointId)).toEqual(['live', 'dry']);
    expect(out.deliveries[0]).toMatchObject({
      webhookId: rec.alertId,
      attempts: 0,
      dueAt: NOW,
      publishedAt: NOW - 20,
    });
    expect(out.filteredByBreaker).toEqual([]);
  });

  it('with the breaker open a revoke goes out as a review: to review endpoints, and the others are told', () => {
    const rec = recommendation({ recommendation: 'revoke_key' });
    const note = { reason: 'breaker open', actionsInWindow: 50, windowSeconds: 60, maxActions: 20 };
    const out = fanOut(rec, note, cfg.endpoints, NOW, NOW);
    expect(out.deliveries.map((d) => [d.endpointId, d.recommendation.recommendation])).toEqual([
      ['reviews', 'review'],
    ]);
    expect(out.deliveries[0]!.recommendation.breaker?.downgradedFrom).toBe('revoke_key');
    expect(out.filteredByBreaker).toEqual(['live', 'dry']);
  });

  it('decodes through the one decoding path: a code and the offending field', () => {
    expect(decodeRecommendation(Buffer.from('{'))).toMatchObject({
      ok: false,
      code: ErrorCodes.RECOMMENDATION_INVALID,
      reason: expect.stringMatching(/^not JSON/),
    });
    const bad = decodeRecommendation(Buffer.from(JSON.stringify({ ...recommendation(), score: 'high' })));
    expect(bad.ok === false && bad.reason).toMatch(/^score: /);
    const rec = recommendation();
    expect(decodeRecommendation(Buffer.from(JSON.stringify(rec)))).toEqual({ ok: true, value: rec });
    expect(decodeDelivery(Buffer.from(JSON.stringify({ webhookId: 'w' }))).ok).toBe(false);
  });
});
