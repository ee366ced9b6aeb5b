import { type AccountState, cloneAccountState } from './account-state.js';
import type { AccountRef, AccountUpdate, BaselineStore, StoredAccount } from './baseline-store.js';
import { accountKey, isNewer } from './baseline-store.js';

function snapshotOf(state: AccountState): AccountState {
  try {
    return cloneAccountState(state);
  } catch {
    return structuredClone(state); // not the shape we wrote (a corrupted entry): copy it as it is
  }
}

/**
 * The embedded default (replay, demo). Holds state objects as they are, no serialization. Idle
 * accounts expire on event time: an account with no event for `ttlMs` before the stream's
 * watermark (`advanceTo`) is dropped. Without a watermark nothing expires.
 */
export class MemoryBaselineStore implements BaselineStore {
  readonly kind = 'memory' as const;
  private readonly accounts = new Map<string, StoredAccount>();
  private watermark = Number.NEGATIVE_INFINITY;
  private savesSinceSweep = 0;

  constructor(private readonly ttlMs: number) {}

  async loadAccounts(refs: readonly AccountRef[]): Promise<Map<string, StoredAccount>> {
    const out = new Map<string, StoredAccount>();
    for (const ref of refs) {
      const key = accountKey(ref);
      const found = this.accounts.get(key);
      // A snapshot: the engine mutates what it loads, and nothing may change before saveAccounts.
      if (found) out.set(key, { positions: { ...found.positions }, state: snapshotOf(found.state) });
    }
    return out;
  }

  async saveAccounts(updates: readonly AccountUpdate[]): Promise<number> {
    let applied = 0;
    for (const u of updates) {
      const key = accountKey(u);
      const existing = this.accounts.get(key);
      if (!isNewer(u.positions, existing?.positions)) continue;
      this.accounts.set(key, { positions: { ...existing?.positions, ...u.positions }, state: u.state });
      applied++;
    }
    this.savesSinceSweep += updates.length;
    if (this.savesSinceSweep > 50_000) this.sweep();
    return applied;
  }

  advanceTo(eventTime: number): void {
    if (Number.isFinite(eventTime)) this.watermark = Math.max(this.watermark, eventTime);
  }

  /** Drops accounts idle for longer than the TTL before the watermark (event time). */
  sweep(): void {
    this.savesSinceSweep = 0;
    const cutoff = this.watermark - this.ttlMs;
    for (const [key, stored] of this.accounts)
      if ((stored.state.act?.l ?? 0) < cutoff) this.accounts.delete(key);
  }

  get size(): number {
    return this.accounts.size;
  }

  async close(): Promise<void> {}
}
