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
  source: string;
  seq: number;
  state: AccountState;
}

/**
 * Where per-account baselines live. Both calls cover a whole batch in one round trip.
 * `saveAccounts` applies an update only when its `seq` is past the stored position for its
 * source, so a redelivered batch never counts an event twice.
 */
export interface BaselineStore {
  readonly kind: 'memory' | 'redis';
  loadAccounts(refs: readonly AccountRef[]): Promise<Map<string, StoredAccount>>;
  /** Returns how many updates were applied (the rest were stale). */
  saveAccounts(updates: readonly AccountUpdate[]): Promise<number>;
  close(): Promise<void>;
}
