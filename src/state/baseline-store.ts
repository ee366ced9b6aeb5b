import type { AccountState } from './account-state.js';

/** Identifies one customer account: ids are only unique within an exchange. */
export interface AccountRef {
  exchange: string;
  accountId: string;
}

export function accountKey(ref: AccountRef): string {
  return `${ref.exchange}\u0000${ref.accountId}`;
}

export interface StoredAccount {
  /**
   * Per input source (a Kafka topic-partition, or "replay"), the position of the last event folded
   * into `state`: an event at or below it was already counted, so updates are idempotent.
   */
  positions: Record<string, number>;
  state: AccountState;
}

export interface AccountUpdate extends AccountRef {
  /** For each input source the update covers, the position of its last event in `state`. */
  positions: Record<string, number>;
  state: AccountState;
}

/** An update is stale when it moves no source forward, or would move one back (a redelivery). */
export function isNewer(update: Record<string, number>, stored: Record<string, number> | undefined): boolean {
  let advances = false;
  for (const [source, position] of Object.entries(update)) {
    const before = stored?.[source];
    if (before === undefined || position > before) advances = true;
    else if (position < before) return false;
  }
  return advances;
}

/**
 * Where per-account baselines live. Both calls cover a whole batch in one round trip.
 * `saveAccounts` applies an update only when it moves some source's position forward and none
 * back (`isNewer`), so a redelivered batch never counts an event twice.
 */
export interface BaselineStore {
  readonly kind: 'memory' | 'redis';
  loadAccounts(refs: readonly AccountRef[]): Promise<Map<string, StoredAccount>>;
  /** Returns how many updates were applied (the rest were stale). */
  saveAccounts(updates: readonly AccountUpdate[]): Promise<number>;
  /**
   * The stream's watermark: every event up to this time has been processed. A store that expires
   * idle accounts on event time measures idleness from here, not from the newest time any single
   * event claimed.
   */
  advanceTo?(eventTime: number): void;
  /**
   * Stores that can lose their data (Redis) check a deployment epoch before the worker consumes;
   * `processedBefore`: the consumer group has committed offsets already.
   */
  openEpoch?(processedBefore: boolean): Promise<void>;
  close(): Promise<void>;
}
