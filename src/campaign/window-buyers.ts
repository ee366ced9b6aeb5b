/**
 * The buyers of a symbol's first-buy window, one per account, kept up to date as the window moves
 * instead of rebuilt from the whole window on every observation: a pump puts hundreds of first
 * buys in one window, and rebuilding them per buy was quadratic — the aggregator then held the
 * worker's event loop for hundreds of milliseconds just when alerts were due.
 *
 * Derived data only: built from the window on first use and checked against it on every use (a
 * window changed behind its back is rebuilt), so `buyersOf(window)` is always what a fresh build
 * would give — the same buyers, the same sums in the same order, the same map order (each account's
 * first buy in the window), hence the same alerts.
 */
import type { FirstBuy } from '../events/observation.js';
import { RECOMMENDATION_LEVEL, type Recommendation } from '../events/schema.js';

export interface Buyer {
  accountId: string;
  apiKeyId?: string;
  amount: number;
  byCounterparty: Map<string, number>;
  fills: string[];
  orders: Set<string>;
  links: Set<string>;
  /** Client IPs new to the account's key (see `WindowBuyers.isEstablished` for what they are evidence of). */
  newIps: Set<string>;
  /** Sellers it bought from above a quiet market (the observation's `quietMarket`): not a crowd's. */
  quietSellers: Set<string>;
  /** What it bought above a quiet market, ≥ `minPremium` above the few others' prints there. */
  quietAmount: number;
  maxPremium?: number;
  maxLivePremium?: number;
  maxSizeRatio?: number;
  /** The most orders on previous days its size was read against (see the observation's `habitOrders`). */
  habitOrders?: number;
  ownRecommendation: string;
}

/** A buy at or below the market is not paying anyone off: it makes no buyer. */
function counts(o: FirstBuy, minPremium: number): boolean {
  return o.premium === undefined || o.premium >= minPremium;
}

function newBuyer(o: FirstBuy): Buyer {
  return {
    accountId: o.accountId,
    amount: 0,
    byCounterparty: new Map(),
    fills: [],
    orders: new Set(),
    links: new Set(),
    newIps: new Set(),
    quietSellers: new Set(),
    quietAmount: 0,
    ownRecommendation: o.accountRecommendation,
  };
}

/** One more of the account's buys, in window order. */
function addBuy(b: Buyer, o: FirstBuy, links: readonly string[], minPremium: number): void {
  if (o.apiKeyId) b.apiKeyId = o.apiKeyId;
  b.amount += o.amount;
  if (o.counterpartyAccountId)
    b.byCounterparty.set(
      o.counterpartyAccountId,
      (b.byCounterparty.get(o.counterpartyAccountId) ?? 0) + o.amount,
    );
  b.fills.push(o.fillId);
  b.orders.add(o.orderId);
  if (o.newClientIp && o.clientIp) b.newIps.add(o.clientIp);
  if (o.quietMarket && o.counterpartyAccountId) b.quietSellers.add(o.counterpartyAccountId);
  if (o.quietMarket && (o.livePremium ?? 0) >= minPremium) b.quietAmount += o.amount;
  for (const l of links) b.links.add(l);
  if (o.premium !== undefined) b.maxPremium = Math.max(b.maxPremium ?? o.premium, o.premium);
  if (o.livePremium !== undefined)
    b.maxLivePremium = Math.max(b.maxLivePremium ?? o.livePremium, o.livePremium);
  if (o.sizeRatio !== undefined) b.maxSizeRatio = Math.max(b.maxSizeRatio ?? 0, o.sizeRatio);
  if (o.habitOrders !== undefined) b.habitOrders = Math.max(b.habitOrders ?? 0, o.habitOrders);
  // The strongest recommendation the account's own detectors gave on any of these buys.
  if (
    RECOMMENDATION_LEVEL[o.accountRecommendation] >
    RECOMMENDATION_LEVEL[b.ownRecommendation as Recommendation]
  )
    b.ownRecommendation = o.accountRecommendation;
}

export class WindowBuyers {
  /** The window's buyers, in the order of each account's first buy in the window. */
  buyers = new Map<string, Buyer>();
  /** Per account, its counted buys in window order. */
  private readonly own = new Map<string, FirstBuy[]>();
  /** Arrival order: the window is ordered by time, then arrival (see addToWindow). */
  private readonly arrival = new Map<FirstBuy, number>();
  private arrivals = 0;
  private readonly fills = new Set<string>();
  /** Per client IP: the window's buys from it by keys that used it before (a server in use, not a new one). */
  private readonly known = new Map<string, number>();
  private first?: FirstBuy;
  private last?: FirstBuy;
  private length = 0;

  constructor(
    private readonly window: readonly FirstBuy[],
    private readonly minPremium: number,
    private readonly linksOf: (o: FirstBuy) => string[],
  ) {
    for (const o of window) {
      this.fills.add(o.fillId);
      this.arrival.set(o, this.arrivals++);
      this.noteKnown(o, 1);
      if (!counts(o, minPremium)) continue;
      const list = this.own.get(o.accountId);
      if (list) list.push(o);
      else this.own.set(o.accountId, [o]);
      let b = this.buyers.get(o.accountId);
      if (!b) this.buyers.set(o.accountId, (b = newBuyer(o)));
      addBuy(b, o, linksOf(o), minPremium);
    }
    this.mark();
  }

  /** Whether this index still describes `window` as it is (nothing moved it behind our back). */
  describes(window: readonly FirstBuy[], minPremium: number): boolean {
    return (
      window === this.window &&
      minPremium === this.minPremium &&
      window.length === this.length &&
      window[0] === this.first &&
      window[window.length - 1] === this.last
    );
  }

  /** Whether a fill is in the window (counted once, however often it is redelivered). */
  has(fillId: string): boolean {
    return this.fills.has(fillId);
  }

  /**
   * The window has taken `added` (wherever its time put it) and dropped `evicted` from its start
   * (possibly `added` itself). Only the accounts concerned are touched: a buy appended to an
   * account's buys is added to its sums; otherwise that account is recounted from its own buys;
   * an account whose first buy changed moves to its new place in the order.
   */
  update(added: FirstBuy, evicted: readonly FirstBuy[]): void {
    this.arrival.set(added, this.arrivals++);
    this.fills.add(added.fillId);
    this.noteKnown(added, 1);
    const recount = new Set<string>();
    const moved = new Set<string>();
    for (const e of evicted) {
      this.fills.delete(e.fillId);
      this.arrival.delete(e);
      this.noteKnown(e, -1);
      if (e === added || !counts(e, this.minPremium)) continue;
      const list = this.own.get(e.accountId)!;
      const at = list.indexOf(e);
      list.splice(at, 1);
      if (list.length === 0) {
        this.own.delete(e.accountId);
        this.buyers.delete(e.accountId);
        recount.delete(e.accountId);
        moved.delete(e.accountId);
        continue;
      }
      recount.add(e.accountId);
      if (at === 0) moved.add(e.accountId);
    }
    if (!evicted.includes(added) && counts(added, this.minPremium)) this.insert(added, recount, moved);
    for (const account of recount) {
      const list = this.own.get(account)!;
      const b = newBuyer(list[0]!);
      for (const o of list) addBuy(b, o, this.linksOf(o), this.minPremium);
      this.buyers.set(account, b); // an existing key keeps its place
    }
    if (moved.size > 0) this.reorder(moved);
    this.mark();
  }

  /**
   * Whether some key in the window bought from `ip` having used it before: a server in use — the
   * pool a third-party platform trades all its users' keys from — rather than an attacker's new
   * machine. A copy-trading platform's followers each meet its servers one by one (new to the key),
   * while the servers are old to the platform; an attacker's server is new to every key it drives.
   */
  isEstablished(ip: string): boolean {
    return (this.known.get(ip) ?? 0) > 0;
  }

  private noteKnown(o: FirstBuy, delta: 1 | -1): void {
    if (!o.apiKeyId || !o.clientIp || o.newClientIp || o.freshClientIp) return;
    const n = (this.known.get(o.clientIp) ?? 0) + delta;
    if (n > 0) this.known.set(o.clientIp, n);
    else this.known.delete(o.clientIp);
  }

  /** A counted buy into its account's buys, in window order. */
  private insert(o: FirstBuy, recount: Set<string>, moved: Set<string>): void {
    const account = o.accountId;
    const list = this.own.get(account);
    const isLastInWindow = this.window[this.window.length - 1] === o;
    if (!list) {
      this.own.set(account, [o]);
      const b = newBuyer(o);
      addBuy(b, o, this.linksOf(o), this.minPremium);
      this.buyers.set(account, b);
      if (!isLastInWindow) moved.add(account);
      return;
    }
    let at = list.length;
    while (at > 0 && list[at - 1]!.timestamp > o.timestamp) at--;
    list.splice(at, 0, o);
    if (at === list.length - 1 && !recount.has(account))
      addBuy(this.buyers.get(account)!, o, this.linksOf(o), this.minPremium);
    else recount.add(account);
    if (at === 0) moved.add(account);
  }

  /** Whether `a` comes before `b` in the window. */
  private precedes(a: FirstBuy, b: FirstBuy): boolean {
    return (
      a.timestamp < b.timestamp ||
      (a.timestamp === b.timestamp && this.arrival.get(a)! < this.arrival.get(b)!)
    );
  }

  /** Puts the accounts whose first buy changed back in first-buy order; the others keep theirs. */
  private reorder(moved: Set<string>): void {
    const firstOf = (account: string) => this.own.get(account)![0]!;
    const movers = [...moved].sort((a, b) => (this.precedes(firstOf(a), firstOf(b)) ? -1 : 1));
    const ordered = new Map<string, Buyer>();
    let next = 0;
    for (const [account, b] of this.buyers) {
      if (moved.has(account)) continue;
      while (next < movers.length && this.precedes(firstOf(movers[next]!), firstOf(account))) {
        ordered.set(movers[next]!, this.buyers.get(movers[next]!)!);
        next++;
      }
      ordered.set(account, b);
    }
    for (; next < movers.length; next++) ordered.set(movers[next]!, this.buyers.get(movers[next]!)!);
    this.buyers = ordered;
  }

  private mark(): void {
    this.length = this.window.length;
    this.first = this.window[0];
    this.last = this.window[this.window.length - 1];
  }
}

/** Built once per window (array), reused while it still describes it. */
const indexes = new WeakMap<readonly FirstBuy[], WindowBuyers>();

/** The buyers index of a window: the one kept for it if it still describes it, else a fresh build. */
export function windowBuyers(
  window: readonly FirstBuy[],
  minPremium: number,
  linksOf: (o: FirstBuy) => string[],
): WindowBuyers {
  let index = indexes.get(window);
  if (!index?.describes(window, minPremium)) {
    index = new WindowBuyers(window, minPremium, linksOf);
    indexes.set(window, index);
  }
  return index;
}
