/**
 * A simulated exchange segment: liquid markets, one thin market with a pump (a real Binance tape
 * when given, synthetic otherwise), a population of benign accounts of several kinds, and victims
 * of key-compromise attacks aligned with the pump. Returns the events in time order and the
 * ground truth needed to score the detectors.
 */
import type { InputEvent } from '../events/schema.js';
import { quoteOf } from '../events/symbol.js';
import { AccountStream, type CheaperAsk } from './account-stream.js';
import { Rng } from './rng.js';
import { LIQUID_MARKETS, liquidMarket, medianBefore, priceAt, type SimMarket } from './sim-market.js';

/**
 * Benign behaviours, several of which look like an attack on one axis: pump buyers (in the UI and
 * through a scripted key) pay far above the pre-pump price in a pair new to them, often in quick
 * orders; bots start new thin pairs; arbitrage bots take liquidity in thin pairs; people try a new
 * coin with one large order; dormant keys wake; keys move server; a copy-trading platform runs
 * its leader's signals on every follower's key at once (`copy_trader`, an extra population drawn
 * after everything else: see `copyPlatform`).
 */
export const BENIGN_KINDS = [
  'retail',
  'grid_bot',
  'rebalancing_bot',
  'market_maker',
  'new_pair_trier',
  'ui_pump_buyer',
  'api_pump_buyer',
  'grid_bot_new_pair',
  'market_maker_new_pair',
  'arbitrage_bot',
  'dormant_waker',
  'server_mover',
  'copy_trader',
] as const;
export type BenignKind = (typeof BENIGN_KINDS)[number];
export type AttackStrength = 'strong' | 'medium' | 'careful';
/** Where the attack happens: during a public pump of the pair, or in a quiet pair the attackers pump alone. */
export type AttackSetting = 'public_pump' | 'quiet_pair';

/**
 * Multipliers on the simulator's behaviour parameters (1 = as designed): `--perturb` moves them to
 * check that detection holds for a reason, not for one set of numbers.
 */
export interface BehaviourParams {
  /** Trading rates (orders a day, quoting rates). */
  rate: number;
  /** Order sizes (every budget, benign and attack). */
  size: number;
  /** Orders per episode (pump buys, attack orders, grid batches, rebalancing bursts). */
  burst: number;
  /** Price distances (attack premiums, slippage, grid steps, quote edges). */
  price: number;
  /** Each benign behaviour's share of the population. */
  share: Partial<Record<string, number>>;
}

export const DEFAULT_PARAMS: BehaviourParams = { rate: 1, size: 1, burst: 1, price: 1, share: {} };

export interface MaliciousFill {
  id: string;
  timestamp: number;
  /** (fill price − pre-attack reference) × amount, in quote currency. */
  valueMoved: number;
}

export interface AccountTruth {
  kind: BenignKind | 'victim';
  /** For victims: how they traded before the attack. */
  baseKind?: BenignKind;
  strength?: AttackStrength;
  symbol?: string;
  attackStart?: number;
  referencePrice?: number;
  /** How far above the pre-attack price the attack buys (0.3 = +30 %). */
  premium?: number;
  setting?: AttackSetting;
  maliciousFills?: MaliciousFill[];
  withCounterparty?: boolean;
  /** Victims: whether the attacker traded from a small pool of servers (a shared new IP) or per-victim proxies. */
  sharedAttackerIp?: boolean;
}

export interface Scenario {
  events: InputEvent[];
  truth: Record<string, AccountTruth>;
  from: number;
  to: number;
  pumpAt: number;
  illiquidSymbol: string;
  /**
   * Counterparty accounts the attackers sold to victims from (empty in a platform's view): the
   * attacker accounts some victim's fill names. One that sold nothing leaves no trace to freeze it by.
   */
  attackers: string[];
  /** Whether fills carry `counterpartyAccountId` (an exchange's view) or not (a platform's). */
  exchangeView: boolean;
  /** The key label (third-party platform) whose keys leaked. */
  leakedLabel: string;
  /**
   * When each of the label's campaigns started, oldest first: the earlier one (when the scenario has
   * one) in a quiet pair of its own, then the main one.
   */
  campaignStarts: number[];
  setting: AttackSetting;
  /** The pair attacked (the pumped pair, or the quiet one). */
  attackSymbol: string;
}

export interface ScenarioOptions {
  seed: number;
  name: string;
  /** The thin market with a pump (its pumpAt must be set). */
  illiquid: SimMarket;
  from: number;
  to: number;
  benignAccounts: number;
  victims: number;
  mix?: Partial<Record<BenignKind, number>>;
  /** Every attack of this strength (default: a mix of strong, medium and careful). */
  attackStrength?: AttackStrength;
  /** Fills carry their counterparty (default: true). */
  exchangeView?: boolean;
  /** The attack's pair: the pumped one (default), or `quiet` (a thin market with no public pump). */
  quiet?: SimMarket;
  /**
   * A thin pair for an earlier campaign on keys of the same leaked label, 12–48 h before the main
   * one (never on the first day): a platform whose key store leaked is drained more than once.
   */
  earlier?: SimMarket;
  params?: BehaviourParams;
  /**
   * A copy-trading platform's followers beside the population (default: none; `npm run eval` has
   * them): keys of one label that buy the same pairs within seconds of each other, thin ones now
   * and then.
   */
  copyPlatform?: boolean;
}

const DEFAULT_MIX: Record<Exclude<BenignKind, 'copy_trader'>, number> = {
  retail: 0.24,
  grid_bot: 0.1,
  rebalancing_bot: 0.1,
  market_maker: 0.03,
  new_pair_trier: 0.1,
  ui_pump_buyer: 0.12,
  api_pump_buyer: 0.12,
  grid_bot_new_pair: 0.04,
  market_maker_new_pair: 0.03,
  arbitrage_bot: 0.04,
  dormant_waker: 0.04,
  server_mover: 0.04,
};

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MIN = 60_000;

interface Ctx {
  rng: Rng;
  events: InputEvent[];
  liquid: SimMarket[];
  illiquid: SimMarket;
  /** Thin pairs without a pump (bots and people start trading them). */
  thin: SimMarket[];
  from: number;
  to: number;
  pumpAt: number;
  exchangeView: boolean;
  name: string;
  /** IPs handed out so far (each new one is distinct). */
  ips: number;
  p: BehaviourParams;
  /** The attackers' asks in the pumped pair: the crowd lifts some of them too. */
  attackerAsks?: { from: number; to: number; accounts: string[] };
  /** Victims' sweeps of benign asks draw from their own stream: the rest of a scenario stays as it was. */
  sweeps: Rng;
  /** Pump buyers' limit caps draw from their own stream too. */
  caps: Rng;
  /** So do the pump hour's taker buys' climbs through the book (`bookClimb`). */
  climbs: Rng;
  /** So do the attackers' ladders of asks. */
  ladders: Rng;
  /** So does which careful attacks are spread over 10–30 minutes (`attackPace`). */
  paces: Rng;
  /** So do benign accounts' sales of a held coin before a buy (`benignSwap`). */
  swaps: Rng;
}

/** Key labels: the third-party platforms keys are made for (share of keys), and unlabelled keys. */
const LABELS: ReadonlyArray<readonly [string, number]> = [
  ['platform-a', 0.3],
  ['platform-b', 0.2],
  ['platform-c', 0.1],
  ['', 0.4],
];

/**
 * Who is on the other side of a benign fill, when the exchange knows it: market makers in liquid
 * pairs; in the thin pair, its two resident makers and occasional sellers — and during the public
 * pump a crowd of sellers (two big dumpers and many small holders taking profit), and the
 * attackers' asks while they are up (a pump buyer lifts them as readily as a victim does).
 */
function benignCounterparty(ctx: Ctx): (market: SimMarket, t: number) => string | undefined {
  const sellers = Array.from({ length: 60 }, (_, i) => [`${ctx.name}-seller-${i + 1}`, 1 / (i + 1)] as const);
  const crowd = [[`${ctx.name}-dumper-1`, 0.9] as const, [`${ctx.name}-dumper-2`, 0.6] as const, ...sellers];
  return (market, t) => {
    if (!ctx.exchangeView) return undefined;
    const rng = ctx.rng;
    if (market.liquid) return `${ctx.name}-mm-${market.symbol}-${rng.int(1, 6)}`;
    const asks = ctx.attackerAsks;
    if (market === ctx.illiquid && asks && t >= asks.from && t <= asks.to && rng.chance(0.3))
      return rng.pick(asks.accounts);
    if (market === ctx.illiquid && t >= ctx.pumpAt - 10 * MIN && t <= ctx.pumpAt + 3 * HOUR)
      return rng.weighted(crowd);
    return rng.chance(0.7) ? `${ctx.name}-mm-${market.symbol}-${rng.int(1, 2)}` : rng.pick(sellers)[0];
  };
}

/**
 * A benign account with an ask resting near the market in a thin pair (never an attacker): during
 * the public pump, the crowd selling into it; otherwise the pair's resident makers or a holder.
 */
function restingSeller(ctx: Ctx, market: SimMarket, t: number, rng: Rng = ctx.sweeps): string {
  if (market === ctx.illiquid && t >= ctx.pumpAt - 10 * MIN && t <= ctx.pumpAt + 3 * HOUR)
    return rng.chance(0.5) ? `${ctx.name}-dumper-${rng.int(1, 2)}` : `${ctx.name}-seller-${rng.int(1, 60)}`;
  return rng.chance(0.7)
    ? `${ctx.name}-mm-${market.symbol}-${rng.int(1, 2)}`
    : `${ctx.name}-seller-${rng.int(1, 60)}`;
}

function newIp(ctx: Ctx): string {
  const n = ++ctx.ips;
  return `10.${ctx.rng.int(0, 255)}.${(n >> 8) & 255}.${n & 255}`;
}

/** A keyed stream: its apikey event, a home IP, maybe a move to another server during the run. */
function setUpKey(ctx: Ctx, s: AccountStream, label: string, movesServer: number, createdAt?: number): void {
  const rng = ctx.rng;
  s.counterparty = benignCounterparty(ctx);
  if (!s.apiKeyId) return;
  s.clientIp = newIp(ctx);
  if (rng.chance(movesServer))
    s.ipChange = { at: Math.round(rng.uniform(ctx.from, ctx.to)), laterIp: newIp(ctx) };
  s.keyCreated(ctx.from, createdAt ?? Math.round(ctx.from - rng.uniform(30, 1100) * DAY), label);
}

/** A budget in BTC in `market`'s quote currency: USDT pairs are scaled by the BTC price. */
function inQuote(market: SimMarket, budgetBtc: number): number {
  return quoteOf(market.symbol) === 'USDT' ? budgetBtc * 20_000 : budgetBtc;
}

/** Amount for an order worth about `quoteBudgetBtc` BTC (×0.5–1.5, × the size parameter). */
function budgetAmount(ctx: Ctx, market: SimMarket, t: number, quoteBudgetBtc: number): number {
  const price = priceAt(market, t);
  return Math.max((inQuote(market, quoteBudgetBtc) * ctx.p.size) / price, 1e-8) * ctx.rng.uniform(0.5, 1.5);
}

/** Times of `perDay` Poisson events a day (× the rate parameter), between from and to. */
function poissonTimes(ctx: Ctx, from: number, to: number, perDay: number): number[] {
  const out: number[] = [];
  let t = from;
  for (;;) {
    t += ctx.rng.exp(DAY / (perDay * ctx.p.rate));
    if (t >= to) return out;
    out.push(Math.round(t));
  }
}

/** Orders per episode: `n` × the burst parameter, at least 1. */
function episode(ctx: Ctx, n: number): number {
  return Math.max(1, Math.round(n * ctx.p.burst));
}

/** A taker order at the market (a market order, or a limit that crosses the spread). */
function atMarket(
  ctx: Ctx,
  s: AccountStream,
  t: number,
  market: SimMarket,
  side: 'buy' | 'sell',
  budget: number,
) {
  const slip = ctx.rng.uniform(0, 0.002 * ctx.p.price);
  const price = priceAt(market, t) * (side === 'buy' ? 1 + slip : 1 - slip);
  s.trade(t, market, side, price, budgetAmount(ctx, market, t, budget), {
    type: ctx.rng.chance(0.5) ? 'market' : 'limit',
    fills: ctx.rng.int(1, 3),
    taker: true,
    ...(side === 'buy' ? { cheaperAsks: bookClimb(ctx, market, t, price) } : {}),
  });
}

/**
 * A benign swap: at `t`, the account sells a coin it holds at the market for `quote`, about
 * `budgetBtc` worth, before a buy in that currency: a person trying a new coin, a pump buyer who had
 * no BTC ready, a copy-trading leader rotating out of a coin. The victims' "swap" of the case, without the
 * theft. Drawn from a stream of its own (`swaps`), through a second stream of the account's orders:
 * the rest of a scenario stays as it was.
 */
function benignSwap(ctx: Ctx, s: AccountStream, t: number, quote: string, budgetBtc: number): void {
  const rng = ctx.swaps;
  const held = ctx.liquid.filter((m) => quoteOf(m.symbol) === quote);
  if (held.length === 0) return;
  const market = rng.pick(held);
  const sale = new AccountStream(ctx.events, rng, s.accountId, s.apiKeyId, s.exchange, `sw${Math.round(t)}-`);
  sale.clientIp = s.clientIp;
  if (s.ipChange) sale.ipChange = s.ipChange;
  if (ctx.exchangeView) sale.counterparty = (m) => `${ctx.name}-mm-${m.symbol}-${rng.int(1, 6)}`;
  const price = priceAt(market, t) * (1 - rng.uniform(0, 0.002));
  const amount = (inQuote(market, budgetBtc) * ctx.p.size * rng.uniform(0.5, 1.5)) / price;
  sale.trade(Math.round(t), market, 'sell', price, amount, {
    type: 'market',
    fills: rng.int(1, 2),
    taker: true,
  });
}

/** A person trading a few liquid pairs a few times a day. Returns the usual budget (BTC). */
function retail(ctx: Ctx, s: AccountStream, from = ctx.from, to = ctx.to): number {
  const pairs = ctx.rng.sample(ctx.liquid, ctx.rng.int(1, 3));
  const budget = ctx.rng.uniform(0.005, 0.3);
  for (const t of poissonTimes(ctx, from, to, ctx.rng.uniform(1, 6))) {
    atMarket(ctx, s, t, ctx.rng.pick(pairs), ctx.rng.chance(0.5) ? 'buy' : 'sell', budget);
  }
  return budget;
}

/** Maker orders a step away from the market, one every few minutes (fills when the price comes). */
function grid(ctx: Ctx, s: AccountStream, market: SimMarket, from: number, to: number, budget: number): void {
  const step = ctx.rng.uniform(0.003, 0.015) * ctx.p.price;
  const mean = (ctx.rng.uniform(3, 15) * MIN) / ctx.p.rate;
  // Laying out the grid: a batch of orders within a minute, then one as each level fills.
  let t = from;
  for (let i = episode(ctx, ctx.rng.int(2, 6)); i > 0 && t < to; i--) {
    const side = i % 2 === 0 ? 'buy' : 'sell';
    const mid = priceAt(market, t);
    const price = side === 'buy' ? mid * (1 - step * i) : mid * (1 + step * i);
    s.trade(Math.round(t), market, side, price, budgetAmount(ctx, market, t, budget), { fillProbability: 0 });
    t += ctx.rng.uniform(1_000, 10_000);
  }
  t += ctx.rng.exp(mean);
  while (t < to) {
    const side = ctx.rng.chance(0.5) ? 'buy' : 'sell';
    const mid = priceAt(market, t);
    const price = side === 'buy' ? mid * (1 - step) : mid * (1 + step);
    s.trade(Math.round(t), market, side, price, budgetAmount(ctx, market, t, budget), { fills: 1 });
    t += ctx.rng.exp(mean);
  }
}

function gridBot(ctx: Ctx, s: AccountStream): number {
  const market = ctx.rng.chance(0.2) ? ctx.illiquid : ctx.rng.pick(ctx.liquid);
  const budget = ctx.rng.uniform(0.01, 0.1);
  grid(ctx, s, market, ctx.from + ctx.rng.exp(10 * MIN), ctx.to, budget);
  return budget;
}

/** A grid bot that starts a grid in a thin pair it never traded, on the last day. */
function gridBotNewPair(ctx: Ctx, s: AccountStream): void {
  const budget = gridBot(ctx, s);
  const market = ctx.rng.pick([...ctx.thin, ctx.illiquid]);
  const start = ctx.to - ctx.rng.uniform(0.1, 1) * DAY;
  grid(ctx, s, market, start, ctx.to, budget);
}

function rebalancingBot(ctx: Ctx, s: AccountStream): number {
  const pairs = ctx.rng.sample(ctx.liquid, ctx.rng.int(2, 5));
  const budget = ctx.rng.uniform(0.02, 0.5);
  for (const t of poissonTimes(ctx, ctx.from, ctx.to, 2)) {
    atMarket(ctx, s, t, ctx.rng.pick(pairs), ctx.rng.chance(0.5) ? 'buy' : 'sell', budget);
  }
  for (let day = ctx.from; day < ctx.to; day += DAY) {
    let t = day + ctx.rng.uniform(0, DAY);
    const n = episode(ctx, ctx.rng.int(8, 30));
    const span = ctx.rng.uniform(30_000, 180_000);
    for (let i = 0; i < n && t < ctx.to; i++) {
      atMarket(ctx, s, Math.round(t), ctx.rng.pick(pairs), ctx.rng.chance(0.5) ? 'buy' : 'sell', budget / 4);
      t += span / n;
    }
  }
  return budget;
}

/** A rebalancing bot whose key moves to another server during the run (and keeps trading as before). */
function serverMover(ctx: Ctx, s: AccountStream): void {
  s.ipChange = { at: Math.round(ctx.rng.uniform(ctx.from + DAY, ctx.to)), laterIp: newIp(ctx) };
  rebalancingBot(ctx, s);
}

/** Two-sided maker quotes close to the market, fills now and then. */
function quote(
  ctx: Ctx,
  s: AccountStream,
  pairs: SimMarket[],
  from: number,
  to: number,
  edgeMax: number,
): void {
  const gap = 40_000 / ctx.p.rate;
  let t = from + ctx.rng.exp(gap);
  while (t < to) {
    const market = ctx.rng.pick(pairs);
    const mid = priceAt(market, t);
    const edge = ctx.rng.uniform(edgeMax / 4, edgeMax) * ctx.p.price;
    const side = ctx.rng.chance(0.5) ? 'buy' : 'sell';
    const price = side === 'buy' ? mid * (1 - edge) : mid * (1 + edge);
    s.trade(Math.round(t), market, side, price, budgetAmount(ctx, market, t, 0.05), { fillProbability: 0.4 });
    t += ctx.rng.exp(gap);
  }
}

function marketMaker(ctx: Ctx, s: AccountStream): void {
  quote(
    ctx,
    s,
    ctx.rng.sample(ctx.liquid, ctx.rng.int(2, 4)),
    Math.max(ctx.from, ctx.to - 2 * DAY),
    ctx.to,
    0.002,
  );
}

/** A market maker that starts quoting a thin pair on the last day (wider quotes: a thin book). */
function marketMakerNewPair(ctx: Ctx, s: AccountStream): void {
  marketMaker(ctx, s);
  const start = ctx.to - ctx.rng.uniform(0.1, 1) * DAY;
  quote(ctx, s, [ctx.rng.pick([...ctx.thin, ctx.illiquid])], start, ctx.to, 0.02);
}

/** Takes liquidity in thin pairs at the live price, all day, every day (in the pump too). */
function arbitrageBot(ctx: Ctx, s: AccountStream): void {
  const pairs = [ctx.illiquid, ...ctx.rng.sample(ctx.thin, ctx.rng.int(0, ctx.thin.length))];
  const budget = ctx.rng.uniform(0.01, 0.2);
  for (const t of poissonTimes(ctx, ctx.from, ctx.to, ctx.rng.uniform(10, 40))) {
    atMarket(ctx, s, t, ctx.rng.pick(pairs), ctx.rng.chance(0.5) ? 'buy' : 'sell', budget);
  }
}

/** Someone trying a coin they never held: a few orders, or one large one; now and then in a pump. */
function newPairTrier(ctx: Ctx, s: AccountStream): void {
  const usual = retail(ctx, s);
  const candidates = [...ctx.thin, ctx.illiquid, ...ctx.liquid];
  const market = ctx.rng.pick(candidates);
  let t = ctx.to - ctx.rng.uniform(0.05, 1) * DAY;
  if (market === ctx.illiquid && ctx.rng.chance(0.25)) t = ctx.pumpAt + ctx.rng.exp(10 * MIN);
  else if (Math.abs(t - ctx.pumpAt) < 2 * HOUR) t = ctx.pumpAt - 3 * HOUR;
  const large = ctx.rng.chance(0.4);
  const n = large ? 1 : episode(ctx, ctx.rng.int(1, 4));
  // A third sell a coin they hold first, to pay for it.
  if (ctx.swaps.chance(1 / 3)) {
    const lead = ctx.swaps.uniform(20_000, 300_000);
    benignSwap(ctx, s, t - lead, quoteOf(market.symbol), usual * (large ? ctx.swaps.uniform(3, 10) : n));
  }
  for (let i = 0; i < n; i++) {
    atMarket(ctx, s, Math.round(t), market, 'buy', large ? usual * ctx.rng.uniform(3, 10) : usual);
    t += 15_000 + ctx.rng.exp(90_000);
  }
}

/** An account that traded two weeks ago, then nothing, and comes back (now and then into the pump). */
function dormantWaker(ctx: Ctx, s: AccountStream): void {
  const pairs = ctx.rng.sample(ctx.liquid, ctx.rng.int(1, 2));
  const budget = ctx.rng.uniform(0.01, 0.3);
  let t = ctx.from - 11.2 * DAY;
  for (let i = ctx.rng.int(2, 5); i > 0; i--) {
    atMarket(ctx, s, Math.round(t), ctx.rng.pick(pairs), ctx.rng.chance(0.5) ? 'buy' : 'sell', budget);
    t += ctx.rng.exp(HOUR);
  }
  const intoPump = ctx.rng.chance(0.3);
  t = intoPump ? ctx.pumpAt + ctx.rng.exp(5 * MIN) : ctx.to - ctx.rng.uniform(0.05, 1) * DAY;
  for (let i = episode(ctx, ctx.rng.int(1, 4)); i > 0 && t < ctx.to; i--) {
    atMarket(ctx, s, Math.round(t), intoPump ? ctx.illiquid : ctx.rng.pick(pairs), 'buy', budget);
    t += 5_000 + ctx.rng.exp(60_000);
  }
}

/**
 * A pump buyer: buys the public pump of a pair it never traded and sells hours later. By hand in
 * the UI (`hand` without a key) clicking seconds to minutes apart, or through a scripted key: 1–4
 * orders a few seconds apart, at the live market, its usual size, from its usual IP — in the first
 * minute or later.
 */
function pumpBuyer(ctx: Ctx, hand: AccountStream, usual: number, scripted: boolean): void {
  const m = ctx.illiquid;
  let t =
    ctx.pumpAt + (ctx.rng.chance(0.4) ? ctx.rng.uniform(0, MIN) : Math.min(20 * MIN, ctx.rng.exp(4 * MIN)));
  const n = episode(
    ctx,
    ctx.rng.weighted([
      [1, 0.4],
      [2, 0.3],
      [3, 0.2],
      [4, 0.1],
    ] as const),
  );
  const budget = scripted ? usual : ctx.rng.uniform(0.01, 0.5);
  // A quarter had nothing to buy with: they sell a coin they hold first (a script seconds before).
  if (ctx.swaps.chance(0.25)) {
    const lead = scripted ? ctx.swaps.uniform(1_000, 10_000) : ctx.swaps.uniform(20_000, 120_000);
    benignSwap(ctx, hand, t - lead, quoteOf(m.symbol), scripted ? budget * n : budget);
  }
  let bought = 0;
  for (let i = 0; i < n; i++) {
    // A market buy in a pump sweeps the book: it pays the top of the next seconds' prints.
    const top = Math.max(priceAt(m, t), priceAt(m, t + 5_000), priceAt(m, t + 10_000));
    const price = top * (1 + ctx.rng.uniform(0, 0.02 * ctx.p.price));
    const amount = budgetAmount(ctx, m, t, scripted ? budget : budget / n);
    const fills = ctx.rng.int(1, 2);
    const type = ctx.rng.chance(scripted ? 0.7 : 0.5) ? 'market' : 'limit';
    hand.trade(Math.round(t), m, 'buy', price, amount, {
      fills,
      type,
      taker: true,
      cheaperAsks: bookClimb(ctx, m, t, price),
      // Pump groups tell their members to buy with a limit well above the market ("up to +30 %"):
      // half the limit buys are such caps, filled at the book's price (own stream: other draws stay).
      ...(type === 'limit' && ctx.caps.chance(0.5)
        ? { limitPrice: price * (1 + ctx.caps.uniform(0.1, 0.5)) }
        : {}),
    });
    bought += amount;
    t += scripted ? ctx.rng.uniform(1_000, 10_000) / ctx.p.rate : 8_000 + ctx.rng.exp(100_000);
  }
  const sellAt = t + ctx.rng.uniform(1, 6) * HOUR;
  if (sellAt < ctx.to) {
    hand.trade(Math.round(sellAt), m, 'sell', priceAt(m, sellAt) * 0.995, bought, {
      type: 'market',
      taker: true,
    });
  }
}

/**
 * The cheaper asks a taker buy lifts on its way to `top` in the public pump's first hour (own
 * stream: other draws stay): half the orders climb through 1–2 levels, by 17 % × u³ (× the price
 * parameter; median 2 %, 90th percentile 12 %). The 24 real Binance pump tapes (buys of one taker
 * order: one millisecond) climb less — in the pump's hour 12 % of them climb at all, median 0.3 %,
 * 99th percentile 4.9 %, largest 13.8 %; at any time the largest is 17 % — so an order's climb
 * through the book is judged against more, and larger, climbs than a real pump has.
 */
function bookClimb(ctx: Ctx, m: SimMarket, t: number, top: number): CheaperAsk[] {
  if (m !== ctx.illiquid || t < ctx.pumpAt - MIN || t > ctx.pumpAt + HOUR) return [];
  const rng = ctx.climbs;
  if (!rng.chance(0.5)) return [];
  const climb = 0.17 * rng.uniform(0, 1) ** 3 * ctx.p.price;
  const levels = rng.int(1, 2);
  return Array.from({ length: levels }, (_, i) => ({
    price: top / (1 + (climb * (levels - i)) / levels),
    share: rng.uniform(0.1, 0.3),
    ...(ctx.exchangeView ? { counterpartyAccountId: restingSeller(ctx, m, t, rng) } : {}),
    delayMs: rng.int(1, 50),
  }));
}

const STRENGTHS: Record<
  AttackStrength,
  { orders: [number, number]; premium: [number, number]; gapMs: number }
> = {
  strong: { orders: [15, 40], premium: [0.3, 3.0], gapMs: 3_000 },
  medium: { orders: [5, 12], premium: [0.1, 0.4], gapMs: 5_000 },
  careful: { orders: [2, 6], premium: [0.03, 0.09], gapMs: 10_000 },
};

interface Campaign {
  attackers: string[];
  /** The attackers' servers, when they use a few (else a proxy per victim). */
  servers?: string[];
  /** When the campaign starts (victims are hit within minutes of it). */
  startAt: number;
  market: SimMarket;
  setting: AttackSetting;
  /** Each victim's fills go to one attacker account (else every fill to any of them). */
  oneCounterpartyPerVictim: boolean;
  /** In a public pump: premiums over the live (pumped) price rather than the pre-pump one. */
  overLive: boolean;
  /** The attackers' asks stand at several price levels: a victim's order lifts the lower ones first. */
  ladder: boolean;
}

function attack(
  ctx: Ctx,
  s: AccountStream,
  truth: AccountTruth,
  campaign: Campaign,
  usualBudget: number,
  only?: AttackStrength,
): void {
  const drawn = ctx.rng.weighted([
    ['strong', 0.3],
    ['medium', 0.3],
    ['careful', 0.4],
  ] as const);
  const strength = only ?? drawn;
  const spec = STRENGTHS[strength];
  const market = campaign.market;
  let t = campaign.startAt + ctx.rng.uniform(0, 11) * MIN;
  // What the coin was worth before anyone pumped it (the loss is measured against it).
  const pumpStart = campaign.setting === 'public_pump' ? Math.min(t, ctx.pumpAt) : campaign.startAt;
  const reference = medianBefore(market, pumpStart - MIN, HOUR);
  const withCounterparty = ctx.exchangeView;
  const counterparty = ctx.rng.pick(campaign.attackers);
  // The attacker drives the stolen key from his own machines — seen as a new client IP for about
  // half the victims; for the others no client IP reaches keyguard (a platform that does not report
  // it), so that evidence is missing.
  const ipSeen = ctx.rng.chance(0.5);
  s.ipChange = {
    at: Math.round(t),
    laterIp: !ipSeen ? '' : campaign.servers ? ctx.rng.pick(campaign.servers) : newIp(ctx),
  };
  // Some attackers first sell the victim's liquid coins to fund the buys: coins quoted in the pumped
  // pair's currency, so that what they fetch pays for the buys.
  const funding = ctx.liquid.filter((m) => quoteOf(m.symbol) === quoteOf(market.symbol));
  if (ctx.rng.chance(0.3)) {
    for (let i = ctx.rng.int(1, 3); i > 0; i--) {
      atMarket(
        ctx,
        s,
        Math.round(t),
        ctx.rng.pick(funding.length > 0 ? funding : ctx.liquid),
        'sell',
        ctx.rng.uniform(0.2, 2),
      );
      t += 1_000 + ctx.rng.exp(2_000);
    }
  }
  const attackStart = Math.round(t);
  const orders = episode(ctx, ctx.rng.int(spec.orders[0], spec.orders[1]));
  const premium = ctx.rng.uniform(spec.premium[0], spec.premium[1]) * ctx.p.price;
  // Most thefts drain far more than the victim ever traded; some stay within a few times its usual size.
  const budgetBtc = ctx.rng.chance(0.25)
    ? usualBudget * orders * ctx.rng.uniform(1, 3)
    : ctx.rng.uniform(0.2, 20);
  const fills: MaliciousFill[] = [];
  const pace = attackPace(ctx, strength, orders);
  for (let i = 0; i < orders; i++) {
    const base = campaign.overLive ? Math.max(reference, priceAt(market, t)) : reference;
    const price = base * (1 + premium * ctx.rng.uniform(0.9, 1.1));
    const amount = (budgetBtc * ctx.p.size) / orders / price;
    const seller = campaign.oneCounterpartyPerVictim ? counterparty : ctx.rng.pick(campaign.attackers);
    // Half the buys first lift a benign ask resting near the market (a limit buy at the attacker's
    // price sweeps the cheaper asks before it reaches his): innocent sellers then sell to victims.
    const live = priceAt(market, t) * (1 + ctx.sweeps.uniform(0, 0.02));
    const cheaperAsks: CheaperAsk[] = [];
    if (live < price && ctx.sweeps.chance(0.5))
      cheaperAsks.push({
        price: live,
        share: ctx.sweeps.uniform(0.1, 0.5),
        ...(withCounterparty ? { counterpartyAccountId: restingSeller(ctx, market, t) } : {}),
        delayMs: ctx.sweeps.int(20, 400),
      });
    if (campaign.ladder) {
      const left = 1 - (cheaperAsks[0]?.share ?? 0);
      cheaperAsks.push(...ladderBelow(ctx, campaign, price, Math.max(base, live), seller, left));
    }
    const made = s.trade(Math.round(t), market, 'buy', price, amount, {
      fills: ctx.rng.int(1, 2),
      taker: true,
      ...(withCounterparty ? { counterpartyAccountId: seller } : {}),
      cheaperAsks,
    });
    for (const f of made)
      fills.push({ id: f.id, timestamp: f.timestamp, valueMoved: (f.price - reference) * f.amount });
    t += (300 + ctx.rng.exp(spec.gapMs)) * pace;
  }
  Object.assign(truth, {
    strength,
    setting: campaign.setting,
    symbol: market.symbol,
    attackStart,
    referencePrice: reference,
    premium,
    maliciousFills: fills,
    withCounterparty,
    sharedAttackerIp: campaign.servers !== undefined,
  });
}

/**
 * How much slower than its strength's usual gaps an attack's orders come: half the careful attacks
 * spread their 2–6 orders over 10–30 minutes (as a thief who wants no burst would; the independent
 * evaluation's careful attacks do), so no quick second order shows. Drawn from a stream of its own
 * and scaling the usual gaps' draws: the rest of a scenario stays as it was.
 */
function attackPace(ctx: Ctx, strength: AttackStrength, orders: number): number {
  if (strength !== 'careful' || orders < 2 || !ctx.paces.chance(0.5)) return 1;
  const spanMs = ctx.paces.uniform(10, 30) * MIN;
  return spanMs / ((orders - 1) * (300 + STRENGTHS.careful.gapMs));
}

/**
 * The attackers' own asks below the one an order ends on: a ladder of 1–3 price levels between the
 * market (`floor`) and the order's price, together 50–90 % of what the order has `left`, from the victim's
 * attacker account or, when the attackers share the victims, from any of them. Drawn from a random
 * stream of its own, so the rest of a scenario stays as it was.
 */
function ladderBelow(
  ctx: Ctx,
  campaign: Campaign,
  price: number,
  floor: number,
  seller: string,
  left: number,
): CheaperAsk[] {
  const rng = ctx.ladders;
  const levels = Array.from({ length: rng.int(1, 3) }, () => floor + (price - floor) * rng.uniform(0.3, 0.9));
  levels.sort((a, b) => a - b);
  // The lower levels are lifted whole; the order ends part-way into the top one (10–50 % of it).
  const lower = (left * rng.uniform(0.5, 0.9)) / levels.length;
  return levels
    .filter((p) => p > floor * 1.005)
    .map((p) => ({
      price: p,
      share: lower,
      ...(ctx.exchangeView
        ? { counterpartyAccountId: campaign.oneCounterpartyPerVictim ? seller : rng.pick(campaign.attackers) }
        : {}),
      delayMs: rng.int(20, 400),
    }));
}

/**
 * In a quiet pair the attackers may paint the tape first: prints between their own accounts at the
 * price they will sell at, so the live market seems to be there already.
 */
function washPrints(ctx: Ctx, market: SimMarket, from: number, to: number, price: number): void {
  const base = market.symbol.replace('/', '');
  let n = 0;
  for (let t = from; t < to; t += 5_000 + ctx.rng.exp(20_000)) {
    ctx.events.push({
      kind: 'trade',
      exchange: market.exchange,
      symbol: market.symbol,
      timestamp: Math.round(t),
      id: `${base}-wash-${++n}`,
      price: price * ctx.rng.uniform(0.98, 1.02),
      amount: ctx.rng.exp(0.05) / price,
      side: 'buy',
    });
  }
}

/** A victim of `campaign`: its key of the leaked `label`, its usual trading, then the attack. */
function victim(
  ctx: Ctx,
  id: string,
  label: string,
  campaign: Campaign,
  truth: Record<string, AccountTruth>,
  only?: AttackStrength,
): void {
  const baseKind = ctx.rng.weighted([
    ['retail', 0.5],
    ['grid_bot', 0.25],
    ['rebalancing_bot', 0.25],
  ] as const);
  const s = new AccountStream(ctx.events, ctx.rng, id, `${id}-k1`);
  const t: AccountTruth = { kind: 'victim', baseKind };
  truth[id] = t;
  setUpKey(ctx, s, label, 0);
  attack(ctx, s, t, campaign, usualTrading(ctx, baseKind, s), only);
}

function usualTrading(ctx: Ctx, kind: BenignKind, s: AccountStream): number {
  if (kind === 'grid_bot') return gridBot(ctx, s);
  if (kind === 'rebalancing_bot') return rebalancingBot(ctx, s);
  return retail(ctx, s);
}

export function buildScenario(opts: ScenarioOptions, extraIlliquid: SimMarket[] = []): Scenario {
  const rng = new Rng(opts.seed);
  const events: InputEvent[] = [];
  const liquid = LIQUID_MARKETS.map((spec) => liquidMarket(spec, opts.from, opts.to, rng));
  const pumpAt = opts.illiquid.pumpAt ?? opts.from + (opts.to - opts.from) * 0.875;
  const exchangeView = opts.exchangeView ?? true;
  const p = opts.params ?? DEFAULT_PARAMS;
  const thin = [...extraIlliquid, ...(opts.quiet ? [opts.quiet] : [])];
  const ctx: Ctx = {
    rng,
    events,
    liquid,
    illiquid: opts.illiquid,
    thin,
    from: opts.from,
    to: opts.to,
    pumpAt,
    exchangeView,
    name: opts.name,
    ips: 0,
    p,
    sweeps: new Rng(opts.seed * 7_919 + 17),
    caps: new Rng(opts.seed * 7_919 + 29),
    climbs: new Rng(opts.seed * 7_919 + 41),
    ladders: new Rng(opts.seed * 6_007 + 29),
    paces: new Rng(opts.seed * 6_007 + 43),
    swaps: new Rng(opts.seed * 6_007 + 59),
  };
  for (const m of [...liquid, opts.illiquid, ...thin]) events.push(...m.prints, ...m.tickers);

  // One campaign: keys leaked from one platform, used within minutes of each other — near the
  // public pump of the pair, or in a quiet pair the attackers pump alone.
  const leakedLabel = rng.pick(LABELS.filter(([l]) => l !== ''))[0];
  const setting: AttackSetting = opts.quiet ? 'quiet_pair' : 'public_pump';
  const attackMarket = opts.quiet ?? opts.illiquid;
  const quietStart = opts.to - rng.uniform(0.15, 0.9) * DAY;
  const campaign: Campaign = {
    attackers: Array.from({ length: rng.int(1, 3) }, (_, i) => `${opts.name}-attacker-${i + 1}`),
    startAt: setting === 'public_pump' ? pumpAt + rng.uniform(-3, 0) * MIN : quietStart,
    ...(rng.chance(0.7) ? { servers: Array.from({ length: rng.int(1, 3) }, () => newIp(ctx)) } : {}),
    market: attackMarket,
    setting,
    oneCounterpartyPerVictim: rng.chance(0.6),
    overLive: setting === 'public_pump' && rng.chance(0.5),
    ladder: ctx.ladders.chance(0.5),
  };
  if (setting === 'public_pump' && opts.victims > 0)
    ctx.attackerAsks = {
      from: campaign.startAt,
      to: campaign.startAt + 15 * MIN,
      accounts: campaign.attackers,
    };

  const truth: Record<string, AccountTruth> = {};
  const mix: Record<string, number> = { ...DEFAULT_MIX, ...opts.mix };
  for (const [kind, factor] of Object.entries(p.share)) if (kind in mix) mix[kind] = mix[kind]! * factor!;
  const kinds = Object.entries(mix) as Array<[Exclude<BenignKind, 'copy_trader'>, number]>;
  const peopleKinds = new Set<BenignKind>(['retail', 'ui_pump_buyer', 'new_pair_trier', 'dormant_waker']);
  let n = 0;
  for (let i = 0; i < opts.benignAccounts; i++) {
    const kind = rng.weighted(kinds);
    const id = `${opts.name}-a${++n}`;
    const hasKey = kind === 'ui_pump_buyer' ? false : peopleKinds.has(kind) ? rng.chance(0.3) : true;
    const s = new AccountStream(events, rng, id, hasKey ? `${id}-k1` : undefined);
    truth[id] = { kind };
    // Bots run on servers that sometimes move; a person's key trades from wherever they are.
    const created =
      kind === 'dormant_waker' ? Math.round(opts.from - rng.uniform(400, 1500) * DAY) : undefined;
    setUpKey(ctx, s, rng.weighted(LABELS), kind === 'retail' ? 0.3 : 0.1, created);
    if (kind === 'retail') retail(ctx, s);
    else if (kind === 'grid_bot') gridBot(ctx, s);
    else if (kind === 'rebalancing_bot') rebalancingBot(ctx, s);
    else if (kind === 'market_maker') marketMaker(ctx, s);
    else if (kind === 'new_pair_trier') newPairTrier(ctx, s);
    else if (kind === 'ui_pump_buyer') pumpBuyer(ctx, s, retail(ctx, s), false);
    else if (kind === 'api_pump_buyer') pumpBuyer(ctx, s, retail(ctx, s), true);
    else if (kind === 'grid_bot_new_pair') gridBotNewPair(ctx, s);
    else if (kind === 'market_maker_new_pair') marketMakerNewPair(ctx, s);
    else if (kind === 'arbitrage_bot') arbitrageBot(ctx, s);
    else if (kind === 'dormant_waker') dormantWaker(ctx, s);
    else serverMover(ctx, s);
  }
  for (let i = 0; i < opts.victims; i++)
    victim(ctx, `${opts.name}-a${++n}`, leakedLabel, campaign, truth, opts.attackStrength);
  if (setting === 'quiet_pair' && opts.victims > 0 && rng.chance(0.5)) {
    const ref = medianBefore(attackMarket, campaign.startAt - MIN, HOUR);
    const premium = Math.max(...Object.values(truth).map((t) => t.premium ?? 0));
    washPrints(
      ctx,
      attackMarket,
      campaign.startAt - 5 * MIN,
      campaign.startAt + 20 * MIN,
      ref * (1 + premium),
    );
  }
  const campaigns = [campaign];
  if (opts.earlier && opts.victims > 0)
    campaigns.unshift(
      earlierCampaign(
        ctx,
        opts.seed,
        opts.earlier,
        campaign,
        leakedLabel,
        truth,
        () => `${opts.name}-a${++n}`,
      ),
    );
  if (opts.copyPlatform) copyPlatform(ctx, opts.seed, leakedLabel, truth, () => `${opts.name}-a${++n}`);
  // Stable sort: an order precedes its fills at equal timestamps.
  events.sort((a, b) => a.timestamp - b.timestamp);
  const namedBy = new Set<string>();
  for (const e of events)
    if (e.kind === 'fill' && e.counterpartyAccountId && truth[e.accountId]?.kind === 'victim')
      namedBy.add(e.counterpartyAccountId);
  return {
    events,
    truth,
    from: opts.from,
    to: opts.to,
    pumpAt,
    illiquidSymbol: opts.illiquid.symbol,
    attackers:
      exchangeView && opts.victims > 0
        ? campaigns.flatMap((c) => c.attackers).filter((a) => namedBy.has(a))
        : [],
    exchangeView,
    leakedLabel,
    campaignStarts: campaigns.map((c) => c.startAt),
    setting,
    attackSymbol: attackMarket.symbol,
  };
}

/**
 * The leaked label's earlier campaign: 2–5 more of its keys drained in a quiet thin pair of its own
 * by other attacker accounts, 12–48 h before the main campaign and after the first day. Drawn from
 * a random stream of its own, after everything else: the rest of the scenario stays as it was.
 */
function earlierCampaign(
  main: Ctx,
  seed: number,
  market: SimMarket,
  later: Campaign,
  label: string,
  truth: Record<string, AccountTruth>,
  nextId: () => string,
): Campaign {
  const rng = new Rng(seed * 4_241 + 53);
  const ctx: Ctx = { ...main, rng, sweeps: rng, ladders: rng, attackerAsks: undefined };
  ctx.events.push(...market.prints, ...market.tickers);
  const startAt = Math.max(main.from + 1.2 * DAY, later.startAt - rng.uniform(12, 48) * HOUR);
  const campaign: Campaign = {
    attackers: Array.from({ length: rng.int(1, 2) }, (_, i) => `${main.name}-early-attacker-${i + 1}`),
    startAt,
    ...(rng.chance(0.7) ? { servers: Array.from({ length: rng.int(1, 3) }, () => newIp(ctx)) } : {}),
    market,
    setting: 'quiet_pair',
    oneCounterpartyPerVictim: rng.chance(0.6),
    overLive: false,
    ladder: rng.chance(0.5),
  };
  for (let i = rng.int(2, 5); i > 0; i--) victim(ctx, nextId(), label, campaign, truth);
  main.ips = ctx.ips;
  return campaign;
}

/**
 * A copy-trading platform (`copy_trader`): 8–24 followers (× their share parameter) whose keys were
 * made for it (one label — a third of the time the label whose keys leaked), and which trades from
 * its own pool of 1–3 servers. Each signal of its leader is executed on every follower's key in
 * turn, 0.2–2 s apart, each order the follower's own allocation: liquid pairs a few times a day,
 * and 1–3 times a thin pair none of them traded (half the time the public pump, in its first
 * minutes) — there every follower's market buy lifts the next asks of a thin book, so the later
 * followers pay +0.3–1.5 % a step over the earlier ones. They sell hours later. Many keys of one
 * label buying a new thin pair together, above the market, from shared IPs: the twin of a label
 * campaign, except for the evidence. Drawn from a random stream of its own after everything else:
 * the rest of the scenario stays as it was. A quarter of the followers subscribe during the run.
 */
function copyPlatform(
  main: Ctx,
  seed: number,
  leakedLabel: string,
  truth: Record<string, AccountTruth>,
  nextId: () => string,
): void {
  const rng = new Rng(seed * 3_301 + 71);
  const ctx: Ctx = { ...main, rng, sweeps: rng, ladders: rng };
  const count = Math.round(rng.int(8, 24) * (main.p.share.copy_trader ?? 1));
  const label = rng.chance(1 / 3)
    ? leakedLabel
    : rng.pick(LABELS.filter(([l]) => l !== '' && l !== leakedLabel))[0];
  const servers = Array.from({ length: rng.int(1, 3) }, () => newIp(ctx));
  const followers = Array.from({ length: count }, () => {
    const id = nextId();
    const s = new AccountStream(ctx.events, rng, id, `${id}-k1`);
    truth[id] = { kind: 'copy_trader' };
    s.counterparty = benignCounterparty(ctx);
    // A quarter subscribe during the run: a key keyguard has not met, its first trade a signal.
    const joins = rng.chance(0.25) ? Math.round(rng.uniform(ctx.from, ctx.to - 0.5 * DAY)) : undefined;
    s.keyCreated(joins ?? ctx.from, joins ?? Math.round(ctx.from - rng.uniform(30, 700) * DAY), label);
    return { s, budget: rng.uniform(0.01, 0.3), joins: joins ?? ctx.from };
  });
  /** One signal: every follower in turn, from one of the servers; `step` (a thin book) raises each next price. */
  const signal = (t: number, market: SimMarket, side: 'buy' | 'sell', base: number, step: number) => {
    let at = t;
    const now = followers.filter((f) => f.joins <= t);
    for (const [k, f] of rng.sample(now, now.length).entries()) {
      f.s.clientIp = rng.pick(servers);
      const price = base * (side === 'buy' ? 1 + step * k : 1 - step * k);
      f.s.trade(Math.round(at), market, side, price, budgetAmount(ctx, market, at, f.budget), {
        type: 'market',
        fills: rng.int(1, 2),
        taker: true,
      });
      at += rng.uniform(200, 2_000) / ctx.p.rate;
    }
  };
  for (const t of poissonTimes(ctx, ctx.from, ctx.to, rng.uniform(2, 6))) {
    const market = rng.pick(ctx.liquid);
    signal(t, market, 'buy', priceAt(market, t), rng.uniform(0, 0.0005));
    const exit = t + rng.uniform(1, 8) * HOUR;
    if (exit < ctx.to) signal(exit, market, 'sell', priceAt(market, exit), rng.uniform(0, 0.0005));
  }
  const thin = Array.from({ length: rng.int(1, 3) }, () => {
    const market = rng.pick([...ctx.thin, ctx.illiquid]);
    let t = ctx.to - rng.uniform(0.1, 2.5) * DAY;
    if (Math.abs(t - ctx.pumpAt) < 2 * HOUR) t = ctx.pumpAt - 3 * HOUR;
    return { market, t };
  });
  if (rng.chance(0.5)) thin.push({ market: ctx.illiquid, t: ctx.pumpAt + rng.uniform(0, 2) * MIN });
  for (const { market, t } of thin) {
    // A third of the time the leader rotates out of a coin first: every follower sells it at the
    // market, seconds before the buy (own stream: the platform's other draws stay).
    if (ctx.swaps.chance(1 / 3)) {
      for (const f of followers.filter((f) => f.joins <= t)) {
        f.s.clientIp = ctx.swaps.pick(servers);
        benignSwap(ctx, f.s, t - ctx.swaps.uniform(1_000, 5_000), quoteOf(market.symbol), f.budget);
      }
    }
    const base = Math.max(priceAt(market, t), priceAt(market, t + 5_000));
    signal(Math.round(t), market, 'buy', base, rng.uniform(0.003, 0.015) * ctx.p.price);
    const exit = t + rng.uniform(1, 6) * HOUR;
    if (exit < ctx.to) signal(exit, market, 'sell', priceAt(market, exit) * 0.995, 0.003);
  }
  main.ips = ctx.ips;
}
