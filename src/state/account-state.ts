/**
 * Per-account rolling baseline, on event time. A plain JSON-serializable object so that the Redis
 * store can keep it as one value per account and the in-memory store can keep it as is.
 *
 * Activity is counted in *distinct orders* (an order event and its fills count once), in small
 * buckets over a sliding window; the baseline is the account's own peak window count on each of
 * the previous days (today is left out, so a burst in progress does not raise its own baseline).
 */
import type { DetectionConfig } from '../config/detection.js';
import { eventId } from '../events/decode.js';
import type { AccountEvent } from '../events/schema.js';

export const DAY_MS = 86_400_000;

/** Bucketed counts over a sliding window: parallel arrays of bucket start and count. */
export interface RateWindow {
  b: number[];
  n: number[];
}

export interface Activity {
  w: RateWindow;
  /** Daily peaks, flattened [day, peak, day, peak, …], oldest first. */
  p: number[];
  /** First and last event time. */
  f: number;
  l: number;
}

export interface SymbolHistory {
  /** First trade (event time), last trade, distinct orders. */
  f: number;
  l: number;
  n: number;
  /** While the pair is new to the account: times of its latest orders in it (burst evidence). */
  t?: number[];
}

export interface AccountState {
  v: 1;
  orders: number;
  act: Activity;
  keys: Record<string, Activity>;
  syms: Record<string, SymbolHistory>;
  /** True once the symbol history has been capped (very active multi-pair accounts). */
  capped?: boolean;
  /** Recent distinct order ids, to count an order and its fills once. */
  recent: string[];
  /** Recent event ids, cited as evidence in alerts. */
  ev: string[];
  alert?: { t: number; lvl: number };
}

export function newActivity(at: number): Activity {
  return { w: { b: [], n: [] }, p: [], f: at, l: at };
}

export function newAccountState(at: number): AccountState {
  return { v: 1, orders: 0, act: newActivity(at), keys: {}, syms: {}, recent: [], ev: [] };
}

/** Orders in a pair new to the account within the burst window ending at `at`. */
export function newPairWindowCount(sym: SymbolHistory, at: number, windowMs: number): number {
  if (!sym.t) return 0;
  let n = 0;
  for (const t of sym.t) if (t > at - windowMs && t <= at) n++;
  return n;
}

export function windowCount(w: RateWindow, at: number, windowMs: number): number {
  let total = 0;
  for (let i = 0; i < w.b.length; i++) {
    const start = w.b[i]!;
    if (start > at - windowMs && start <= at) total += w.n[i]!;
  }
  return total;
}

export function startOfDay(at: number): number {
  return at - (at % DAY_MS);
}

/** Highest window count on any previous day within the baseline horizon (0 when none). */
export function previousPeak(p: number[], at: number, baselineDays: number): number {
  const today = Math.floor(at / DAY_MS);
  let peak = 0;
  for (let i = 0; i < p.length; i += 2) {
    const day = p[i]!;
    if (day < today && day >= today - baselineDays) peak = Math.max(peak, p[i + 1]!);
  }
  return peak;
}

function count(activity: Activity, at: number, cfg: DetectionConfig['burst']): void {
  const w = activity.w;
  const newest = w.b.length > 0 ? Math.max(at, w.b[w.b.length - 1]!) : at;
  if (at <= newest - cfg.windowMs) return; // too old for the window
  const bucket = at - (at % cfg.bucketMs);
  const i = w.b.lastIndexOf(bucket);
  if (i >= 0) w.n[i]! += 1;
  else {
    // keep buckets sorted by start (out-of-order events land in their own place)
    let j = w.b.length;
    while (j > 0 && w.b[j - 1]! > bucket) j--;
    w.b.splice(j, 0, bucket);
    w.n.splice(j, 0, 1);
  }
  while (w.b.length > 0 && w.b[0]! <= newest - cfg.windowMs) {
    w.b.shift();
    w.n.shift();
  }
  const inWindow = windowCount(w, at, cfg.windowMs);
  const day = Math.floor(at / DAY_MS);
  const p = activity.p;
  let k = p.length - 2;
  while (k >= 0 && p[k]! > day) k -= 2;
  if (k >= 0 && p[k] === day) p[k + 1] = Math.max(p[k + 1]!, inWindow);
  else {
    p.splice(k + 2, 0, day, inWindow);
  }
  const oldest = Math.floor(newest / DAY_MS) - cfg.baselineDays;
  while (p.length > 0 && p[0]! < oldest) p.splice(0, 2);
}

function touch(activity: Activity, at: number): void {
  activity.f = Math.min(activity.f, at);
  activity.l = Math.max(activity.l, at);
}

function pushCapped<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

/** Folds one order or fill into the account's baseline (mutates `state`). */
export function applyAccountEvent(state: AccountState, event: AccountEvent, cfg: DetectionConfig): void {
  const at = event.timestamp;
  const orderId = event.kind === 'order' ? event.id : event.order;
  const isNewOrder = !state.recent.includes(orderId);
  touch(state.act, at);
  pushCapped(state.ev, eventId(event), cfg.state.evidenceEventIds);
  let key: Activity | undefined;
  if (event.apiKeyId) {
    key = state.keys[event.apiKeyId] ??= newActivity(at);
    touch(key, at);
  }
  let sym = state.syms[event.symbol];
  if (!sym) {
    sym = { f: at, l: at, n: 0 };
    state.syms[event.symbol] = sym;
    evictSymbols(state, cfg.newPair.maxSymbolsTracked);
  }
  sym.f = Math.min(sym.f, at);
  sym.l = Math.max(sym.l, at);
  if (!isNewOrder) return;
  pushCapped(state.recent, orderId, cfg.state.recentOrderIds);
  state.orders += 1;
  sym.n += 1;
  if (at - sym.f <= cfg.newPair.windowMs) pushCapped((sym.t ??= []), at, cfg.burst.newPairFullOrders);
  else if (sym.t) delete sym.t;
  count(state.act, at, cfg.burst);
  if (key) count(key, at, cfg.burst);
}

function evictSymbols(state: AccountState, max: number): void {
  const names = Object.keys(state.syms);
  if (names.length <= max) return;
  // Forget the least recently traded pair; remember that the history is incomplete.
  let oldest = names[0]!;
  for (const n of names) if (state.syms[n]!.l < state.syms[oldest]!.l) oldest = n;
  delete state.syms[oldest];
  state.capped = true;
}

function cloneActivity(a: Activity): Activity {
  return { w: { b: a.w.b.slice(), n: a.w.n.slice() }, p: a.p.slice(), f: a.f, l: a.l };
}

/** A deep copy, much cheaper than structuredClone for this known shape (the embedded store's snapshots). */
export function cloneAccountState(s: AccountState): AccountState {
  const keys: Record<string, Activity> = {};
  for (const k in s.keys) keys[k] = cloneActivity(s.keys[k]!);
  const syms: Record<string, SymbolHistory> = {};
  for (const k in s.syms) {
    const h = s.syms[k]!;
    syms[k] = h.t ? { f: h.f, l: h.l, n: h.n, t: h.t.slice() } : { f: h.f, l: h.l, n: h.n };
  }
  return {
    ...s,
    act: cloneActivity(s.act),
    keys,
    syms,
    recent: s.recent.slice(),
    ev: s.ev.slice(),
    ...(s.alert ? { alert: { ...s.alert } } : {}),
  };
}
