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
  /** Position of the last input event folded into `state` (Kafka offset, replay line): updates are idempotent. */
  seq: number;
  state: AccountState;
}

export interface AccountUpdate extends AccountRef {
  seq: number;
  state: AccountState;
}

/**
 * Where per-account baselines live. Both calls cover a whole batch in one round trip.
 * `saveAccounts` applies an update only when its `seq` is newer than the stored one, so a
 * redelivered batch never counts an event twice.
 */
export interface BaselineStore {
  readonly kind: 'memory' | 'redis';
  loadAccounts(refs: readonly AccountRef[]): Promise<Map<string, StoredAccount>>;
  /** Returns how many updates were applied (the rest were stale). */
  saveAccounts(updates: readonly AccountUpdate[]): Promise<number>;
  close(): Promise<void>;
}
