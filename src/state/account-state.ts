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
import type { AccountEvent, ApiKeyEvent, FillEvent, Signal } from '../events/schema.js';
import { quoteOf } from '../events/symbol.js';
import { isQuietMarket, type LiveMarket, premiumBeyond } from '../market/market-book.js';
import { DAY_MS, notePeak, previousPeak } from './daily-peaks.js';
import { hasDigest, orderDigest, pushDigest } from './order-digests.js';

export { DAY_MS, previousPeak };

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
  /** While the pair is new: what the account bought in it net of sells (USD, `size.quoteUsd`) and its latest fill ids. */
  q?: number;
  fi?: string[];
  /**
   * While the pair is new: its dearest buy above a quiet market (see `noteQuietPremium`) — when,
   * its above_live_market score, its premium over the live market (%).
   */
  lq?: [at: number, score: number, premiumPct: number];
}

export interface AccountState {
  /** 2: `recent` holds order digests (1: the order ids themselves; see `upgradeAccountState`). */
  v: 2;
  orders: number;
  act: Activity;
  keys: Record<string, Activity>;
  syms: Record<string, SymbolHistory>;
  /** True once the symbol history has been capped (very active multi-pair accounts). */
  capped?: boolean;
  /** Recent distinct orders, to count an order and its fills once: their ids' digests (see order-digests). */
  recent: string;
  /**
   * The latest order filled (its id's digest) and its filled value so far (USD, to the cent): one
   * order's value, fill by fill; for a buy, also the lowest and highest price its fills paid (6
   * significant digits): how far the order climbed through the book (order_climb).
   */
  oq?: [orderDigest: string, usd: number, low?: number, high?: number];
  /** Daily peaks of one order's filled value (USD): the account's usual largest order. */
  sz?: number[];
  /**
   * Orders placed on the days before `day` and on `day` (the latest day an order came), each at most
   * `MAX_HABIT_ORDERS`: how many orders the usual largest order was read from (see `ordersBefore`).
   */
  od?: [day: number, before: number, onDay: number];
  /**
   * The account's latest run of sells at the market into one quote currency (see `noteFundingSell`):
   * its first and last sell, that currency and what they fetched (USD, to the cent). Sells into
   * the same currency, each within `fundingSell.windowMs` of the last, make one run.
   */
  fs?: [start: number, last: number, quote: string, usd: number];
  /** Recent event ids, cited as evidence in alerts. */
  ev: string[];
  alert?: { t: number; lvl: number };
  /** The latest review raised: when, its pattern (detectors at ≥ 0.5), its score. */
  rv?: { t: number; p: string; s: number };
  /** What is known about each API key beyond its activity (apikey events, client IPs). */
  km?: Record<string, KeyMeta>;
}

/** One API key's context: its lifecycle (apikey events) and the client IPs it trades from. */
export interface KeyMeta {
  /** Created at (the apikey event's `createdAt`, else its time). */
  c?: number;
  /** When keyguard first heard of the key (its first apikey event). */
  k?: number;
  /** Label: the third-party platform the key was made for (its leak cohort). */
  lb?: string;
  /** Client IPs seen, most recent last (capped): the last is the latest. */
  ips?: string[];
  /** When the key first used a client IP new to it (`ni`), if it had used other IPs before. */
  newIpAt?: number;
  /**
   * That new IP: the key is "on a new IP" only while it trades from it — back on an IP it used
   * before (a copy-trading platform's other server, the owner's bot beside the attacker), it is
   * not. Absent in states written before it was kept: the latest IP is taken for it.
   */
  ni?: string;
  /** When the key started trading again after `dormantMs` idle, and how long it had been idle. */
  wokeAt?: number;
  idle?: number;
}

/** The client IP the key traded from last. */
export function latestIp(meta: KeyMeta | undefined): string | undefined {
  return meta?.ips?.[meta.ips.length - 1];
}

/**
 * The IP the key trades from now, if it is one the key first used within `windowMs` before `at`
 * (having used others before): the one reading of "a new client IP" for key_context and the
 * campaigns' first-buy observations.
 */
export function newClientIp(meta: KeyMeta | undefined, at: number, windowMs: number): string | undefined {
  const ip = latestIp(meta);
  if (!ip || meta?.newIpAt === undefined || at - meta.newIpAt > windowMs) return undefined;
  return meta.ni === undefined || meta.ni === ip ? ip : undefined;
}

export function newActivity(at: number): Activity {
  return { w: { b: [], n: [] }, p: [], f: at, l: at };
}

/** The most IPs remembered per key: enough for a bot's few servers, bounded for state size. */
const MAX_KEY_IPS = 8;
/** The most own fill ids remembered per pair (new, or traded before and printed off the market): left out of the live market the account is judged on. */
const MAX_OWN_PRINTS = 16;

/** A value in the common unit (USD), or undefined when the quote currency has no configured rate. */
export function usdValue(
  symbol: string,
  quoteAmount: number,
  cfg: DetectionConfig['size'],
): number | undefined {
  const rate = cfg.quoteUsd[quoteOf(symbol)];
  return rate === undefined ? undefined : quoteAmount * rate;
}

/** Folds an apikey lifecycle event into the account (mutates `state`). */
export function applyApiKeyEvent(state: AccountState, event: ApiKeyEvent): void {
  const meta = ((state.km ??= {})[event.apiKeyId] ??= {});
  if (event.action === 'created' || meta.c === undefined) meta.c = event.createdAt ?? event.timestamp;
  meta.k = Math.min(meta.k ?? event.timestamp, event.timestamp);
  if (event.label !== undefined && event.label !== '') meta.lb = event.label;
}

/**
 * Marks a key that trades again after a long idle spell (account events only, so the same in any
 * interleaving with apikey events; the old-key signal is derived when scoring).
 */
function noteWaking(
  state: AccountState,
  apiKeyId: string,
  lastBefore: number | undefined,
  at: number,
  cfg: DetectionConfig['keyContext'],
): void {
  if (lastBefore === undefined || at - lastBefore < cfg.dormantMs) return;
  Object.assign(((state.km ??= {})[apiKeyId] ??= {}), { wokeAt: at, idle: at - lastBefore });
}

/** Folds an order's client IP into its key's context: an IP the key never used before is marked. */
function noteClientIp(state: AccountState, apiKeyId: string, ip: string, at: number): void {
  const meta = ((state.km ??= {})[apiKeyId] ??= {});
  const ips = (meta.ips ??= []);
  const i = ips.indexOf(ip);
  if (i >= 0) {
    ips.splice(i, 1); // most recent last
    ips.push(ip);
    return;
  }
  if (ips.length > 0) {
    meta.newIpAt = at;
    meta.ni = ip;
  } else {
    delete meta.newIpAt;
    delete meta.ni;
  }
  pushCapped(ips, ip, MAX_KEY_IPS);
}

export function newAccountState(at: number): AccountState {
  return { v: 2, orders: 0, act: newActivity(at), keys: {}, syms: {}, recent: '', ev: [] };
}

/** The account's history in `symbol` while that pair is new to it at `at` (first traded within `newPair.windowMs`). */
export function newPairHistory(
  account: AccountState,
  symbol: string,
  at: number,
  cfg: DetectionConfig,
): SymbolHistory | undefined {
  const sym = account.syms[symbol];
  return sym && at - sym.f <= cfg.newPair.windowMs ? sym : undefined;
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
  notePeak(activity.p, Math.floor(at / DAY_MS), inWindow, Math.floor(newest / DAY_MS) - cfg.baselineDays);
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
  const digest = orderDigest(orderId);
  const isNewOrder = !hasDigest(state.recent, digest);
  // The first order or fill starts the account's activity, whether or not an apikey event (which
  // may arrive before or after it, on its own topic) created the state.
  if (state.recent.length === 0) state.act.f = state.act.l = at;
  touch(state.act, at);
  pushCapped(state.ev, eventId(event), cfg.state.evidenceEventIds);
  let key: Activity | undefined;
  if (event.apiKeyId) {
    const before = state.keys[event.apiKeyId];
    noteWaking(state, event.apiKeyId, before?.l, at, cfg.keyContext);
    key = state.keys[event.apiKeyId] ??= newActivity(at);
    touch(key, at);
    if (event.kind === 'order' && event.clientIp) noteClientIp(state, event.apiKeyId, event.clientIp, at);
  }
  let sym = state.syms[event.symbol];
  if (!sym) {
    sym = { f: at, l: at, n: 0 };
    state.syms[event.symbol] = sym;
    evictSymbols(state, cfg.newPair.maxSymbolsTracked);
  }
  const lastTrade = sym.l;
  sym.f = Math.min(sym.f, at);
  sym.l = Math.max(sym.l, at);
  const isNew = at - sym.f <= cfg.newPair.windowMs;
  if (isNewOrder) {
    state.recent = pushDigest(state.recent, digest, cfg.state.recentOrderIds);
    noteOrderDay(state, at);
    state.orders += 1;
    sym.n += 1;
    if (isNew) pushCapped((sym.t ??= []), at, cfg.burst.newPairFullOrders);
    else {
      // Own prints beyond the market stay left out of the live market while the account keeps
      // trading the pair (see `noteOwnPrint`); the new pair's fills (all of them) go when it turns old.
      if (sym.t !== undefined || at - lastTrade > cfg.liveMarket.maxAgeMs) delete sym.fi;
      delete sym.t;
      delete sym.q;
      delete sym.lq;
    }
    count(state.act, at, cfg.burst);
    if (key) count(key, at, cfg.burst);
  }
  // A run of sells no pair can still be funded by (any pair first traded since is no longer new) is dropped.
  if (state.fs && at > state.fs[1] + cfg.fundingSell.windowMs + cfg.newPair.windowMs) delete state.fs;
  if (event.kind === 'fill') {
    // Read before this fill's value is folded in: a sell that empties the account's new position still sold it.
    const boughtInNewPair = isNew && (sym.q ?? 0) > 0;
    noteSpend(state, event, digest, sym, isNew, cfg);
    if (!boughtInNewPair) noteFundingSell(state, event, cfg);
  }
}

/**
 * Folds a sell at the market into the account's run of such sells (mutates `state`): the case's
 * attackers sold a victim's liquid coins first, to fund the buys of the thin one. A maker's sell
 * (a resting order someone else took) is no such sale, nor a sell of what the account bought in a
 * pair new to it (a pump buyer taking profit).
 */
function noteFundingSell(state: AccountState, fill: FillEvent, cfg: DetectionConfig): void {
  if (fill.side !== 'sell' || fill.takerOrMaker === 'maker') return;
  const usd = usdValue(fill.symbol, fill.cost ?? fill.price * fill.amount, cfg.size);
  if (usd === undefined || !(usd > 0)) return;
  const quote = quoteOf(fill.symbol);
  const at = fill.timestamp;
  const run = state.fs;
  const window = cfg.fundingSell.windowMs;
  if (run && at < run[0] - window) return; // older than the run kept (arriving late): not the latest
  // Another currency, or a sale long after the run: a new run.
  if (!run || run[2] !== quote || at > run[1] + window) {
    state.fs = [at, at, quote, cents(usd)];
    return;
  }
  run[0] = Math.min(run[0], at);
  run[1] = Math.max(run[1], at);
  run[3] = cents(run[3] + usd);
}

/**
 * What the account's run of sells at the market fetched (USD) in `symbol`'s quote currency, if the
 * run reached to within `fundingSell.windowMs` before `firstTrade` (the account's first trade in the
 * pair) or went on after it: the funds its buys there may have come from.
 */
export function fundingBefore(
  state: AccountState,
  symbol: string,
  firstTrade: number,
  cfg: DetectionConfig,
): { usd: number; start: number; last: number } | undefined {
  const run = state.fs;
  if (!run || run[2] !== quoteOf(symbol) || run[1] < firstTrade - cfg.fundingSell.windowMs) return undefined;
  return { usd: run[3], start: run[0], last: run[1] };
}

/** Beyond this many orders a habit is as known as it gets: the count stops there (state size). */
export const MAX_HABIT_ORDERS = 100;

/** Counts a new order on its day (mutates `state`); call before `orders` counts it. */
function noteOrderDay(state: AccountState, at: number): void {
  const day = Math.floor(at / DAY_MS);
  // A state written before the count was kept: its orders so far came before this one.
  const od = (state.od ??= [day, Math.min(state.orders, MAX_HABIT_ORDERS), 0]);
  if (day > od[0]) {
    od[1] = Math.min(od[1] + od[2], MAX_HABIT_ORDERS);
    od[2] = 0;
    od[0] = day;
  }
  if (day < od[0]) od[1] = Math.min(od[1] + 1, MAX_HABIT_ORDERS);
  else od[2] = Math.min(od[2] + 1, MAX_HABIT_ORDERS);
}

/**
 * Orders the account placed on the days before `at`'s (at most `MAX_HABIT_ORDERS`): those its usual
 * largest order (`sz`, read on previous days) was read from. A swap's sells minutes before a buy are
 * not part of the habit.
 */
export function ordersBefore(state: AccountState, at: number): number {
  const od = state.od;
  if (!od) return Math.min(state.orders, MAX_HABIT_ORDERS);
  return Math.floor(at / DAY_MS) > od[0] ? Math.min(od[1] + od[2], MAX_HABIT_ORDERS) : od[1];
}

/** Folds a fill's value into its order's value (the size baseline) and, in a new pair, the spend there; `order`: its order id's digest. */
function noteSpend(
  state: AccountState,
  fill: FillEvent,
  order: string,
  sym: SymbolHistory,
  isNew: boolean,
  cfg: DetectionConfig,
): void {
  if (isNew) pushCapped((sym.fi ??= []), fill.id, MAX_OWN_PRINTS);
  // An order's fills arrive together: its value and its prices accumulate until another order fills.
  const oq: NonNullable<AccountState['oq']> = state.oq?.[0] === order ? state.oq : [order, 0];
  state.oq = oq;
  if (fill.side === 'buy' && fill.price > 0) {
    const price = Number(fill.price.toPrecision(6));
    oq[2] = Math.min(oq[2] ?? price, price);
    oq[3] = Math.max(oq[3] ?? price, price);
  }
  const usd = usdValue(fill.symbol, fill.cost ?? fill.price * fill.amount, cfg.size);
  if (usd === undefined || !(usd >= 0)) return;
  // Net of sells: a market maker quoting both sides of a new pair accumulates no position.
  if (isNew) sym.q = cents(Math.max(0, (sym.q ?? 0) + (fill.side === 'buy' ? usd : -usd)));
  oq[1] = cents(oq[1] + usd);
  const day = Math.floor(fill.timestamp / DAY_MS);
  notePeak((state.sz ??= []), day, oq[1], Math.floor(state.act.l / DAY_MS) - cfg.size.baselineDays);
}

/**
 * Keeps the id of a fill in a pair the account already trades when it printed off the market (a buy
 * more than `tolerance` above the reference, a sell below: off_market_fill's tolerance): the live
 * market its next fills are judged against leaves it out, as it leaves out every fill in a new
 * pair. A drained key's first order at the attacker's price must not make its next ones look like
 * the market. Kept while the account keeps trading the pair (see `applyAccountEvent`), at most 16; a
 * bot's fills at the market are not kept.
 */
export function noteOwnPrint(
  state: AccountState,
  fill: FillEvent,
  reference: number,
  tolerance: number,
  cfg: DetectionConfig,
): void {
  const sym = state.syms[fill.symbol];
  if (!sym || newPairHistory(state, fill.symbol, fill.timestamp, cfg) || !(reference > 0)) return;
  if (premiumBeyond(fill.price, reference, fill.side) <= tolerance) return;
  const fi = (sym.fi ??= []);
  if (!fi.includes(fill.id)) pushCapped(fi, fill.id, MAX_OWN_PRINTS);
}

/**
 * Keeps a buy's premium over a quiet market on the new pair's history (mutates `state`): the
 * above_live_market `signal` the event just got, where the live market had to reach back beyond
 * `liveMarket.windowMs` for its prints. The dearest within `quietHoldMs` is kept.
 */
export function noteQuietPremium(
  state: AccountState,
  event: AccountEvent,
  signal: Signal | undefined,
  live: LiveMarket | undefined,
  cfg: DetectionConfig,
): void {
  const c = cfg.liveMarket;
  if (!signal || !live || event.side !== 'buy' || !isQuietMarket(live, c) || c.quietHoldMs === 0) return;
  const sym = newPairHistory(state, event.symbol, event.timestamp, cfg);
  const pct = signal.evidence.livePremiumPct;
  if (!sym || typeof pct !== 'number') return;
  // A held signal (see above_live_market) is this record itself, still within the hold: kept as is.
  const held = sym.lq;
  if (held && event.timestamp - held[0] <= c.quietHoldMs && held[1] >= signal.score) return;
  sym.lq = [event.timestamp, signal.score, pct];
}

/** What the account's fills of `orderId` came to so far (USD), if it is the latest order filled; else 0. */
export function filledSoFar(state: AccountState, orderId: string): number {
  return state.oq?.[0] === orderDigest(orderId) ? state.oq[1] : 0;
}

/**
 * What placing a limit order adds to what the account's fills counted (USD): its own value less what
 * its fills counted already (fills may arrive before or after the order event), so that the first
 * order of a drain is judged before it fills. 0 for a fill, or an order without a price.
 */
function placedBeyondFills(event: AccountEvent, account: AccountState, cfg: DetectionConfig): number {
  if (event.kind !== 'order' || event.price === undefined) return 0;
  const placed = usdValue(event.symbol, event.price * event.amount, cfg.size) ?? 0;
  return Math.max(0, placed - filledSoFar(account, event.id));
}

/** What the account has spent in `sym`, a pair new to it (USD, net of sells), a limit buy counted when placed. */
function newPairSpend(
  event: AccountEvent,
  account: AccountState,
  sym: SymbolHistory,
  cfg: DetectionConfig,
): number {
  return (sym.q ?? 0) + placedBeyondFills(event, account, cfg);
}

/** A buy in a pair new to the account: the pair's history and what the account spent there (`newPairSpend`). */
export function newPairBuy(
  event: AccountEvent,
  account: AccountState,
  cfg: DetectionConfig,
): { sym: SymbolHistory; spend: number } | undefined {
  if (event.side !== 'buy') return undefined;
  const sym = newPairHistory(account, event.symbol, event.timestamp, cfg);
  return sym ? { sym, spend: newPairSpend(event, account, sym, cfg) } : undefined;
}

/**
 * A buy in a pair the account already trades: the value of its order (USD) — what a fill's order
 * has filled so far, or a limit order's own value when placed. A drained key's order into a pair its
 * bot trades is still many times the bot's usual order; the spend a new pair accumulates is not the
 * reading here, because the account's own trading in the pair is its habit.
 */
export function tradedPairBuy(event: AccountEvent, account: AccountState, cfg: DetectionConfig): number {
  if (event.side !== 'buy') return 0;
  if (event.kind === 'fill') return filledSoFar(account, event.order);
  if (event.price === undefined) return 0;
  return filledSoFar(account, event.id) + placedBeyondFills(event, account, cfg);
}

/** The lowest and highest price the account's buy fills of `orderId` paid, if it is the latest order filled. */
export function orderPriceRange(
  state: AccountState,
  orderId: string,
): { low: number; high: number } | undefined {
  const oq = state.oq;
  if (oq?.[0] !== orderDigest(orderId) || oq[2] === undefined || oq[3] === undefined) return undefined;
  return { low: oq[2], high: oq[3] };
}

/** Values kept in the baseline are rounded to the cent: the digits below say nothing, and cost bytes in Redis. */
function cents(usd: number): number {
  return Math.round(usd * 100) / 100;
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

export function cloneActivity(a: Activity): Activity {
  return { w: { b: a.w.b.slice(), n: a.w.n.slice() }, p: a.p.slice(), f: a.f, l: a.l };
}

function cloneKeyMeta(km: Record<string, KeyMeta>): Record<string, KeyMeta> {
  const out: Record<string, KeyMeta> = {};
  for (const k in km) {
    const m = km[k]!;
    out[k] = m.ips ? { ...m, ips: m.ips.slice() } : { ...m };
  }
  return out;
}

/** A deep copy, much cheaper than structuredClone for this known shape (the embedded store's snapshots). */
export function cloneAccountState(s: AccountState): AccountState {
  const keys: Record<string, Activity> = {};
  for (const k in s.keys) keys[k] = cloneActivity(s.keys[k]!);
  const syms: Record<string, SymbolHistory> = {};
  for (const k in s.syms) {
    const h = s.syms[k]!;
    const copy: SymbolHistory = { f: h.f, l: h.l, n: h.n };
    if (h.t) copy.t = h.t.slice();
    if (h.q !== undefined) copy.q = h.q;
    if (h.fi) copy.fi = h.fi.slice();
    if (h.lq) copy.lq = [...h.lq];
    syms[k] = copy;
  }
  return {
    ...s,
    act: cloneActivity(s.act),
    keys,
    syms,
    ev: s.ev.slice(),
    ...(s.oq ? { oq: [...s.oq] as NonNullable<AccountState['oq']> } : {}),
    ...(s.sz ? { sz: s.sz.slice() } : {}),
    ...(s.od ? { od: [...s.od] as NonNullable<AccountState['od']> } : {}),
    ...(s.fs ? { fs: [...s.fs] as NonNullable<AccountState['fs']> } : {}),
    ...(s.alert ? { alert: { ...s.alert } } : {}),
    ...(s.rv ? { rv: { ...s.rv } } : {}),
    ...(s.km ? { km: cloneKeyMeta(s.km) } : {}),
  };
}
