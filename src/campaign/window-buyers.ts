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
  newClientIp: boolean;
  maxPremium?: number;
  maxLivePremium?: number;
  maxSizeRatio?: number;
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
    newClientIp: false,
    ownRecommendation: o.accountRecommendation,
  };
}

/** One more of the account's buys, in window order. */
function addBuy(b: Buyer, o: FirstBuy, links: readonly string[]): void {
  if (o.apiKeyId) b.apiKeyId = o.apiKeyId;
  b.amount += o.amount;
  if (o.counterpartyAccountId)
    b.byCounterparty.set(
      o.counterpartyAccountId,
      (b.byCounterparty.get(o.counterpartyAccountId) ?? 0) + o.amount,
    );
  b.fills.push(o.fillId);
  b.orders.add(o.orderId);
  if (o.newClientIp) b.newClientIp = true;
  for (const l of links) b.links.add(l);
  if (o.premium !== undefined) b.maxPremium = Math.max(b.maxPremium ?? o.premium, o.premium);
  if (o.livePremium !== undefined)
    b.maxLivePremium = Math.max(b.maxLivePremium ?? o.livePremium, o.livePremium);
  if (o.sizeRatio !== undefined) b.maxSizeRatio = Math.max(b.maxSizeRatio ?? 0, o.sizeRatio);
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
  private readonly fills = new Set<string>();
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
      if (!counts(o, minPremium)) continue;
      let b = this.buyers.get(o.accountId);
      if (!b) this.buyers.set(o.accountId, (b = newBuyer(o)));
      addBuy(b, o, linksOf(o));
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
   * The window has taken `added` (wherever its time put it) and dropped `evicted` (possibly
   * `added` itself). Appended at the end with nothing dropped — the common case — is one buy more;
   * otherwise the accounts concerned are recounted from the window and the order re-read.
   */
  update(added: FirstBuy, evicted: readonly FirstBuy[]): void {
    this.fills.add(added.fillId);
    for (const e of evicted) this.fills.delete(e.fillId);
    const window = this.window;
    if (evicted.length === 0 && window[window.length - 1] === added) {
      if (counts(added, this.minPremium)) {
        let b = this.buyers.get(added.accountId);
        if (!b) this.buyers.set(added.accountId, (b = newBuyer(added)));
        addBuy(b, added, this.linksOf(added));
      }
    } else {
      const touched = new Set([added, ...evicted].map((o) => o.accountId));
      const recounted = new Map<string, Buyer>();
      for (const o of window) {
        if (!touched.has(o.accountId) || !counts(o, this.minPremium)) continue;
        let b = recounted.get(o.accountId);
        if (!b) recounted.set(o.accountId, (b = newBuyer(o)));
        addBuy(b, o, this.linksOf(o));
      }
      const ordered = new Map<string, Buyer>();
      for (const o of window) {
        if (ordered.has(o.accountId) || !counts(o, this.minPremium)) continue;
        ordered.set(o.accountId, recounted.get(o.accountId) ?? this.buyers.get(o.accountId)!);
      }
      this.buyers = ordered;
    }
    this.mark();
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
