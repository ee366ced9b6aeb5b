/** The baseline and campaign stores a command opens: memory by default, Redis when asked. */
import {
  type CampaignStore,
  campaignTtlSeconds,
  MemoryCampaignStore,
  RedisCampaignStore,
} from '../campaign/campaign-store.js';
import type { DetectionConfig } from '../config/detection.js';
import type { BaselineStore } from '../state/baseline-store.js';
import { MemoryBaselineStore } from '../state/memory-store.js';
import type { RedisErrorListener } from '../state/redis-connection.js';
import { RedisBaselineStore } from '../state/redis-store.js';

/** Opens the store the options ask for (memory by default). */
export function openStore(
  cfg: DetectionConfig,
  redisUrl: string | undefined,
  prefix: string,
  onConnectionError?: RedisErrorListener,
): BaselineStore {
  if (!redisUrl) return new MemoryBaselineStore(cfg.state.ttlSeconds * 1000);
  return new RedisBaselineStore({
    url: redisUrl,
    keyPrefix: prefix,
    ttlSeconds: cfg.state.ttlSeconds,
    ...(onConnectionError ? { onConnectionError } : {}),
  });
}

/** Campaign groups live where the baselines do; kept as long as the longest baseline. */
export function openCampaignStore(
  cfg: DetectionConfig,
  redisUrl: string | undefined,
  prefix: string,
  onConnectionError?: RedisErrorListener,
): CampaignStore {
  if (!redisUrl) return new MemoryCampaignStore();
  return new RedisCampaignStore(redisUrl, prefix, campaignTtlSeconds(cfg), { onConnectionError });
}
