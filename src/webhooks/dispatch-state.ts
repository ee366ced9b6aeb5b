/**
 * The dispatcher's shared state in Redis: the revocation circuit breaker (a sliding event-time
 * window of automatic-action recommendations, one atomic script for every dispatcher in the group)
 * and the endpoints disabled by a 410. One pipeline per batch reads and updates both.
 */
import type { ChainableCommander } from 'ioredis';
import { StoreError } from '../errors.js';
import type { Alert } from '../events/schema.js';
import { breakerKeys, disabledEndpointsKey } from '../state/keys.js';
import type { RedisClient } from '../state/redis-connection.js';
import type { BreakerNote } from './delivery.js';
import type { WebhookConfig } from './webhook-config.js';

type PipelineWithScripts = ChainableCommander & {
  observeActions(...keysAndArgs: Array<string | number>): ChainableCommander;
};

export interface BreakerTrip {
  /** Event time of the recommendation that tripped it. */
  trippedAt: number;
  actionsInWindow: number;
  openUntil: number;
  /** A platform alert for this trip was already published. */
  announced: boolean;
}

export interface BatchState {
  /** Per recommendation id: the breaker's note when it turns the recommendation into a review. */
  downgrades: Map<string, Omit<BreakerNote, 'downgradedFrom'>>;
  /** The breaker's current trip, if it has ever tripped (open or not). */
  trip?: BreakerTrip;
  /** Endpoint id -> why it was disabled. */
  disabled: Map<string, string>;
}

export class DispatchState {
  private readonly keys: ReturnType<typeof breakerKeys>;
  private readonly disabledKey: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly breaker: WebhookConfig['breaker'],
    private readonly onRoundTrip?: (operation: string, seconds: number, ok: boolean) => void,
  ) {
    this.keys = breakerKeys(prefix);
    this.disabledKey = disabledEndpointsKey(prefix);
  }

  /** Whether a recommendation counts towards (and is held back by) the breaker. */
  isAutomatic(rec: Alert): boolean {
    return this.breaker.recommendations.includes(rec.recommendation);
  }

  /** One round trip: the breaker's decisions for the batch's automatic actions, and the disabled endpoints. */
  async observe(recs: readonly Alert[]): Promise<BatchState> {
    const actions = recs.filter((r) => this.isAutomatic(r)).sort((a, b) => a.timestamp - b.timestamp);
    const b = this.breaker;
    const args: Array<string | number> = [b.windowMs, b.maxActions, b.cooldownMs, b.windowMs + b.cooldownMs];
    for (const r of actions) args.push(r.alertId, r.timestamp);
    const started = performance.now();
    let results: Array<[Error | null, unknown]> | null;
    try {
      results = await (this.redis.pipeline() as PipelineWithScripts)
        .observeActions(...this.keys, ...args)
        .hgetall(this.disabledKey)
        .exec();
    } catch (err) {
      this.onRoundTrip?.('breaker', (performance.now() - started) / 1000, false);
      throw new StoreError(`breaker state unavailable: ${(err as Error).message}`, err);
    }
    const failed = results?.find(([e]) => e);
    this.onRoundTrip?.('breaker', (performance.now() - started) / 1000, !failed && !!results);
    if (!results || failed)
      throw new StoreError(`breaker state unavailable: ${failed?.[0]?.message ?? 'no reply'}`);
    const out = results[0]![1] as string[];
    const disabled = new Map(Object.entries(results[1]![1] as Record<string, string>));
    const downgrades = new Map<string, Omit<BreakerNote, 'downgradedFrom'>>();
    actions.forEach((r, i) => {
      const [open, count] = (out[i] ?? '0:0').split(':');
      if (open === '1') {
        downgrades.set(r.alertId, {
          reason: `revocation circuit breaker open: more than ${b.maxActions} automatic actions within ${b.windowMs / 1000} s`,
          actionsInWindow: Number(count),
          windowSeconds: b.windowMs / 1000,
          maxActions: b.maxActions,
        });
      }
    });
    const [openUntil, trippedAt, tripCount, announced] = out.slice(actions.length);
    const trip = trippedAt
      ? {
          trippedAt: Number(trippedAt),
          actionsInWindow: Number(tripCount),
          openUntil: Number(openUntil),
          announced: announced === trippedAt,
        }
      : undefined;
    return { downgrades, trip, disabled };
  }

  async markAnnounced(trippedAt: number): Promise<void> {
    await this.redis.hset(this.keys[2], 'announced', String(trippedAt));
  }

  async disable(endpointId: string, why: string): Promise<void> {
    await this.redis.hset(this.disabledKey, endpointId, why);
  }

  /** `keyguard webhooks --enable <id>`: after the receiver is fixed. */
  async enable(endpointId: string): Promise<boolean> {
    return (await this.redis.hdel(this.disabledKey, endpointId)) > 0;
  }
}
