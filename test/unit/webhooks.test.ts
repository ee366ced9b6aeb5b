import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { breakerAlert } from '../../src/webhooks/breaker-announcer.js';
import { EndpointLane } from '../../src/webhooks/endpoint-lane.js';
import { endpointWants } from '../../src/webhooks/intake.js';
import { OffsetWatermark, PartitionWatermarks } from '../../src/webhooks/offset-watermark.js';
import { nextStep, parseRetryAfter } from '../../src/webhooks/retry-schedule.js';
import { signDelivery } from '../../src/webhooks/signing.js';
import { isLocalHost, parseWebhookConfig } from '../../src/webhooks/webhook-config.js';
import { newSecret, recommendation } from '../helpers/webhooks.js';

describe('signing (Standard Webhooks)', () => {
  const secret = newSecret();
  const body = JSON.stringify({ type: 'keyguard.recommendation.revoke_key', data: { accountId: 'a1' } });

  it('verifies with the library on the receiving side', () => {
    const headers = signDelivery([secret], 'rec-1', new Date(), body);
    expect(headers['webhook-id']).toBe('rec-1');
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it('a tampered body, another id, or another secret fails', () => {
    const headers = { ...signDelivery([secret], 'rec-1', new Date(), body) };
    expect(() => new Webhook(secret).verify(body.replace('a1', 'a2'), headers)).toThrow(/signature/i);
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'rec-2' })).toThrow(
      /signature/i,
    );
    expect(() => new Webhook(newSecret()).verify(body, headers)).toThrow(/signature/i);
  });

  it('an old (replayed) timestamp fails even with a valid signature', () => {
    const headers = { ...signDelivery([secret], 'rec-1', new Date(Date.now() - 10 * 60_000), body) };
    expect(() => new Webhook(secret).verify(body, headers)).toThrow(/too old/i);
  });

  it('during a rotation both secrets sign, and a receiver holding either verifies', () => {
    const next = newSecret();
    const headers = { ...signDelivery([next, secret], 'rec-1', new Date(), body) };
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(secret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(next).verify(body, headers)).not.toThrow();
  });
});

describe('retry schedule', () => {
  const policy = {
    initialDelayMs: 1000,
    maxDelayMs: 60_000,
    maxAttempts: 8,
    giveUpAfterMs: 3_600_000,
    maxRetryAfterMs: 600_000,
  };

  it('doubles per attempt with jitter between half and the full step, up to the maximum', () => {
    const delays = [1, 2, 3, 4, 10].map((n) => [
      nextStep(policy, n, 0, 0, undefined, () => 0),
      nextStep(policy, n, 0, 0, undefined, () => 1),
    ]);
    expect(delays.map(([lo, hi]) => [lo, hi].map((s) => (s?.kind === 'retry' ? s.delayMs : -1)))).toEqual([
      [500, 1000],
      [1000, 2000],
      [2000, 4000],
      [4000, 8000],
      [-1, -1], // 10 attempts > maxAttempts
    ]);
    expect(nextStep({ ...policy, maxAttempts: 30 }, 20, 0, 0, undefined, () => 1)).toEqual({
      kind: 'retry',
      delayMs: 60_000,
    });
  });

  it('waits at least Retry-After (capped), and gives up by attempts or by age', () => {
    expect(nextStep(policy, 1, 0, 0, 30_000, () => 0)).toEqual({ kind: 'retry', delayMs: 30_000 });
    expect(nextStep(policy, 1, 0, 0, 86_400_000, () => 0)).toEqual({ kind: 'retry', delayMs: 600_000 });
    expect(nextStep(policy, 8, 0, 0, undefined)).toMatchObject({
      kind: 'give_up',
      reason: '8 attempts failed',
    });
    expect(nextStep(policy, 2, 0, 3_599_000, undefined, () => 1)).toMatchObject({ kind: 'give_up' });
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-22T10:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Sun, 22 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('webhooks config', () => {
  const secret = newSecret();
  const parse = (raw: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
    parseWebhookConfig(raw, 'test', env);

  it('requires https unless the host is an allowed local address', () => {
    expect(() =>
      parse({ endpoints: [{ id: 'a', url: 'http://platform.example/hook', secrets: [secret] }] }),
    ).toThrow(/plain http to platform.example is not allowed/);
    expect(() =>
      parse({
        allowHttpHosts: ['8.8.8.8'],
        endpoints: [{ id: 'a', url: 'http://8.8.8.8/hook', secrets: [secret] }],
      }),
    ).toThrow(/8.8.8.8 is not a local address/);
    const ok = parse({
      allowHttpHosts: ['127.0.0.1'],
      endpoints: [{ id: 'a', url: 'http://127.0.0.1:9/h', secrets: [secret] }],
    });
    expect(ok.endpoints[0]).toMatchObject({ id: 'a', timeoutMs: 5000, dryRun: false });
    expect(() => parse({ endpoints: [{ id: 'a', url: 'ftp://x.example/h', secrets: [secret] }] })).toThrow(
      /https/,
    );
    expect(() =>
      parse({ endpoints: [{ id: 'a', url: 'https://u:p@x.example/h', secrets: [secret] }] }),
    ).toThrow(/credentials/);
    expect(
      ['127.0.0.1', '10.1.2.3', '172.20.0.5', '192.168.1.1', '::1', 'localhost'].every(isLocalHost),
    ).toBe(true);
    expect(['8.8.8.8', '172.32.0.1', 'example.com', '2001:db8::1'].some(isLocalHost)).toBe(false);
  });

  it('reads secrets from the named variable and never echoes a bad one', () => {
    const endpoints = [{ id: 'a', url: 'https://x.example/h', secretsEnv: 'HOOK_SECRETS' }];
    const old = newSecret();
    expect(parse({ endpoints }, { HOOK_SECRETS: `${secret}, ${old}` }).endpoints[0]?.secrets).toEqual([
      secret,
      old,
    ]);
    expect(() => parse({ endpoints }, {})).toThrow(/HOOK_SECRETS is not set/);
    try {
      parse({ endpoints }, { HOOK_SECRETS: 'whsec_tooshort' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/secret #1 in HOOK_SECRETS/);
      expect((err as Error).message).not.toContain('tooshort');
    }
    expect(() => parse({ endpoints: [{ id: 'a', url: 'https://x.example/h' }] })).toThrow(/secretsEnv/);
  });

  it('rejects duplicate endpoint ids', () => {
    const e = { id: 'a', url: 'https://x.example/h', secrets: [secret] };
    expect(() => parse({ endpoints: [e, e] })).toThrow(/duplicate id/);
  });
});

describe('endpoint filter', () => {
  it('matches exchange, recommendation and minimum severity', () => {
    const cfg = parseWebhookConfig(
      {
        endpoints: [
          {
            id: 'a',
            url: 'https://x.example/h',
            secrets: [newSecret()],
            filter: { exchanges: ['kucoin'], recommendations: ['revoke_key'], minSeverity: 'high' },
          },
        ],
      },
      'test',
      {},
    );
    const e = cfg.endpoints[0]!;
    expect(endpointWants(e, recommendation({ exchange: 'kucoin', severity: 'high' }))).toBe(true);
    expect(endpointWants(e, recommendation({ exchange: 'kucoin', severity: 'medium' }))).toBe(false);
    expect(endpointWants(e, recommendation({ exchange: 'binance' }))).toBe(false);
    expect(endpointWants(e, recommendation({ exchange: 'kucoin', recommendation: 'review' }))).toBe(false);
  });
});

describe('offset watermark', () => {
  it('commits only up to the first unfinished offset, whatever order deliveries finish in', () => {
    const wm = new OffsetWatermark();
    for (const o of ['10', '11', '12', '13']) expect(wm.track(o)).toBe(true);
    expect(wm.track('11')).toBe(false); // a refetch after a rebalance: already in hand
    expect(wm.toCommit()).toBe('10');
    wm.committedAt('10');
    wm.finish('12');
    wm.finish('13');
    expect(wm.toCommit()).toBeUndefined();
    expect(wm.size).toBe(2);
    wm.finish('10');
    expect(wm.toCommit()).toBe('11');
    wm.finish('11');
    expect(wm.toCommit()).toBe('14');
    expect(wm.size).toBe(0);
  });
});

describe('endpoint lane', () => {
  it('runs at most maxConcurrency at once and reports full past maxQueued', async () => {
    const lane = new EndpointLane(2, 1);
    let running = 0;
    let peak = 0;
    const releases: Array<() => void> = [];
    const task = () =>
      lane.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((r) => releases.push(r));
        running--;
      });
    const all = [task(), task(), task()];
    await new Promise((r) => setTimeout(r, 10));
    expect(lane.load).toEqual({ active: 2, waiting: 1 });
    expect(lane.full).toBe(true);
    while (releases.length > 0 || running > 0) {
      releases.shift()?.();
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(all);
    expect(peak).toBe(2);
    expect(lane.load).toEqual({ active: 0, waiting: 0 });
  });
});

describe('breaker alert', () => {
  it('is one platform-level alert per trip, with a stable id', () => {
    const cfg = {
      windowMs: 300_000,
      maxActions: 50,
      cooldownMs: 900_000,
      recommendations: ['revoke_key' as const],
    };
    const trip = {
      trippedAt: 1_700_000_000_000,
      actionsInWindow: 51,
      openUntil: 1_700_000_900_000,
      announced: false,
    };
    const a = breakerAlert(trip, cfg);
    expect(breakerAlert(trip, cfg).alertId).toBe(a.alertId);
    expect(breakerAlert({ ...trip, trippedAt: trip.trippedAt + 1 }, cfg).alertId).not.toBe(a.alertId);
    expect(a).toMatchObject({
      scope: 'platform',
      severity: 'critical',
      recommendation: 'review',
      accountId: '*',
    });
    expect(a.signals[0]?.evidence.summary).toMatch(/51 automatic-action recommendations/);
  });
});

describe('partition watermarks', () => {
  it('commits what moved in one request, keeps it due when the commit fails, forgets all on clear', async () => {
    const marks = new PartitionWatermarks();
    const a = marks.of('recs', 0);
    const b = marks.of('retry', 1);
    for (const o of ['5', '6']) a.track(o);
    b.track('9');
    a.finish('5');
    const seen: unknown[] = [];
    const failed = await marks.commit(async () => {
      throw new Error('rebalancing');
    });
    expect(failed?.message).toBe('rebalancing');
    expect(await marks.commit(async (offsets) => void seen.push(offsets))).toBeUndefined();
    // The first unfinished offset of each partition: 6 (5 is done), and 9 (nothing done yet).
    expect(seen).toEqual([
      [
        { topic: 'recs', partition: 0, offset: '6' },
        { topic: 'retry', partition: 1, offset: '9' },
      ],
    ]);
    expect(await marks.commit(async (offsets) => void seen.push(offsets))).toBeUndefined();
    expect(seen).toHaveLength(1); // nothing moved since
    marks.clear();
    expect(marks.of('recs', 0)).not.toBe(a);
  });
});
