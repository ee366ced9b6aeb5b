/**
 * Where the campaign aggregator keeps its groups (one per symbol, one per key label): the embedded
 * memory store for replays and the demo, Redis for workers. Same contract as the account baselines:
 * a batch is loaded and saved in one call each; an update moving no source position forward (a
 * redelivered batch) is refused.
 */
import type { DetectionConfig } from '../config/detection.js';
import { isNewer } from '../state/baseline-store.js';
import { campaignGroupKey } from '../state/keys.js';
import { type RedisErrorListener, redisConnection } from '../state/redis-connection.js';
import { StateRecords, type StateRecordsOptions } from '../state/state-records.js';
import type { CohortState } from './leak-cohort.js';
import type { SymbolCampaignState } from './symbol-campaigns.js';

export type GroupState = SymbolCampaignState | CohortState;

export interface StoredGroup {
  positions: Record<string, number>;
  state: GroupState;
}

export interface GroupUpdate extends StoredGroup {
  group: string;
}

export interface CampaignStore {
  loadGroups(groups: readonly string[]): Promise<Map<string, StoredGroup>>;
  /** Returns how many updates were applied (the rest were stale). */
  saveGroups(updates: readonly GroupUpdate[]): Promise<number>;
  close(): Promise<void>;
}

export class MemoryCampaignStore implements CampaignStore {
  private readonly groups = new Map<string, StoredGroup>();

  async loadGroups(groups: readonly string[]): Promise<Map<string, StoredGroup>> {
    const out = new Map<string, StoredGroup>();
    for (const g of groups) {
      const found = this.groups.get(g);
      // A snapshot: the aggregator mutates what it loads, and nothing may change before saveGroups.
      if (found) out.set(g, structuredClone(found));
    }
    return out;
  }

  async saveGroups(updates: readonly GroupUpdate[]): Promise<number> {
    let applied = 0;
    for (const u of updates) {
      const existing = this.groups.get(u.group);
      if (!isNewer(u.positions, existing?.positions)) continue;
      this.groups.set(u.group, { positions: { ...existing?.positions, ...u.positions }, state: u.state });
      applied++;
    }
    return applied;
  }

  async close(): Promise<void> {}
}

export class RedisCampaignStore implements CampaignStore {
  private readonly records: StateRecords;

  constructor(
    url: string,
    private readonly keyPrefix: string,
    ttlSeconds: number,
    opts: StateRecordsOptions & { onConnectionError?: RedisErrorListener } = {},
  ) {
    this.records = new StateRecords(redisConnection(url, opts.onConnectionError), ttlSeconds, opts);
  }

  async loadGroups(groups: readonly string[]): Promise<Map<string, StoredGroup>> {
    const found = await this.records.load(groups.map((g) => campaignGroupKey(this.keyPrefix, g)));
    const out = new Map<string, StoredGroup>();
    groups.forEach((g, i) => {
      const record = found[i];
      if (record) out.set(g, { positions: record.positions, state: JSON.parse(record.json) as GroupState });
    });
    return out;
  }

  async saveGroups(updates: readonly GroupUpdate[]): Promise<number> {
    return this.records.save(
      updates.map((u) => ({
        key: campaignGroupKey(this.keyPrefix, u.group),
        json: JSON.stringify(u.state),
        positions: u.positions,
      })),
    );
  }

  async close(): Promise<void> {
    const redis = this.records.redis;
    await redis.quit().catch(() => redis.disconnect());
  }
}

/** Campaign groups are kept as long as the longest baseline they are judged against. */
export function campaignTtlSeconds(cfg: DetectionConfig): number {
  return (cfg.campaign.baselineDays + 1) * 86_400;
}
