/**
 * An account state as a store keeps it (JSON, in Redis): the same state, written smaller, since
 * Redis memory per account is what a deployment pays for.
 * - A key whose activity is the account's own (every order went through it: most accounts have one
 *   key) is written as 0, not as a second copy.
 * - Ascending times and days are written as gaps from the previous one (`g` for the burst window's
 *   bucket starts `b`, `pg` for the days of daily peaks `p`, `szg` for the order-size peaks `sz`):
 *   a bucket start is 13 digits, its gap 4.
 * - A pair the account no longer counts as new is written `[first, last - first, orders]`.
 * States written by older releases (version 1, no gaps) are read too (`upgradeAccountState`).
 */
import type { AccountState, Activity, SymbolHistory } from './account-state.js';
import { cloneActivity } from './account-state.js';
import { orderDigest } from './order-digests.js';

interface StoredActivity {
  w: { b?: number[]; g?: number[]; n: number[] };
  p?: number[];
  pg?: number[];
  f: number;
  l: number;
}

/** Gaps between ascending integers (the first as is); undefined if any is not a safe integer. */
function gaps(xs: readonly number[], stride: number): number[] | undefined {
  const out = xs.slice();
  for (let i = 0; i < xs.length; i += stride) {
    if (!Number.isSafeInteger(xs[i])) return undefined;
    if (i >= stride) out[i] = xs[i]! - xs[i - stride]!;
  }
  return out;
}

/** Undoes `gaps` in place. */
function sums(xs: number[], stride: number): number[] {
  for (let i = stride; i < xs.length; i += stride) xs[i]! += xs[i - stride]!;
  return xs;
}

function packActivity(a: Activity): StoredActivity {
  const g = gaps(a.w.b, 1);
  const pg = gaps(a.p, 2);
  return {
    w: g ? { g, n: a.w.n } : a.w,
    ...(pg ? { pg } : { p: a.p }),
    f: a.f,
    l: a.l,
  };
}

function unpackActivity(s: StoredActivity): Activity {
  return {
    w: { b: s.w.g ? sums(s.w.g, 1) : (s.w.b ?? []), n: s.w.n },
    p: s.pg ? sums(s.pg, 2) : (s.p ?? []),
    f: s.f,
    l: s.l,
  };
}

function sameActivity(a: Activity, b: Activity): boolean {
  if (a.f !== b.f || a.l !== b.l || a.w.b.length !== b.w.b.length || a.p.length !== b.p.length) return false;
  for (let i = 0; i < a.w.b.length; i++) if (a.w.b[i] !== b.w.b[i] || a.w.n[i] !== b.w.n[i]) return false;
  for (let i = 0; i < a.p.length; i++) if (a.p[i] !== b.p[i]) return false;
  return true;
}

type StoredSymbol = SymbolHistory | [first: number, span: number, orders: number];

function packSymbol(h: SymbolHistory): StoredSymbol {
  if (h.t || h.q !== undefined || h.fi || h.lq || !Number.isSafeInteger(h.f) || !Number.isSafeInteger(h.l))
    return h;
  return [h.f, h.l - h.f, h.n];
}

function unpackSymbol(s: StoredSymbol): SymbolHistory {
  return Array.isArray(s) ? { f: s[0], l: s[0] + s[1], n: s[2] } : s;
}

/** The state's JSON as a store keeps it; `parseAccountState` reads it back. */
export function accountStateJson(state: AccountState): string {
  const keys: Record<string, StoredActivity | 0> = {};
  for (const k in state.keys) {
    const key = state.keys[k]!;
    keys[k] = sameActivity(key, state.act) ? 0 : packActivity(key);
  }
  const syms: Record<string, StoredSymbol> = {};
  for (const name in state.syms) syms[name] = packSymbol(state.syms[name]!);
  const { sz, ...rest } = state;
  const szg = sz ? gaps(sz, 2) : undefined;
  return JSON.stringify({
    ...rest,
    act: packActivity(state.act),
    keys,
    syms,
    ...(szg ? { szg } : sz ? { sz } : {}),
  });
}

/** A state stored by `accountStateJson`, by this release or an older one. */
export function parseAccountState(json: string): AccountState {
  const stored = JSON.parse(json) as Omit<AccountState, 'act' | 'keys' | 'syms'> & {
    act?: StoredActivity;
    keys?: Record<string, StoredActivity | 0>;
    syms?: Record<string, StoredSymbol>;
    szg?: number[];
  };
  const { szg, act, keys, syms, ...rest } = stored;
  const state = rest as AccountState;
  if (act) state.act = unpackActivity(act);
  if (keys) {
    state.keys = {};
    for (const k in keys) {
      const key = keys[k]!;
      state.keys[k] = key === 0 ? cloneActivity(state.act) : unpackActivity(key);
    }
  }
  if (syms) {
    state.syms = {};
    for (const name in syms) state.syms[name] = unpackSymbol(syms[name]!);
  }
  if (szg) state.sz = sums(szg, 2);
  return upgradeAccountState(state);
}

/**
 * A state as an older release stored it, in today's shape (mutates and returns it): version 1 kept
 * order ids themselves (recent orders, the latest order filled) and each key's latest IP apart from
 * its list. Anything else is left as it is.
 */
export function upgradeAccountState(state: AccountState): AccountState {
  const old = state as unknown as { v?: number; recent?: unknown };
  if (old.v === 1 && Array.isArray(old.recent)) {
    state.recent = old.recent.map((id) => orderDigest(String(id))).join('');
    if (state.oq) state.oq[0] = orderDigest(state.oq[0]);
    for (const k in state.km) delete (state.km[k] as { ip?: string }).ip;
    state.v = 2;
  }
  return state;
}
