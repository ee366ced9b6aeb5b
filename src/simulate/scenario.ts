/**
 * A simulated exchange segment: liquid markets, one thin market with a pump (a real Binance tape
 * when given, synthetic otherwise), a population of benign accounts of several kinds, and victims
 * of key-compromise attacks aligned with the pump. Returns the events in time order and the
 * ground truth needed to score the detectors.
 */
import type { InputEvent } from '../events/schema.js';
import { AccountStream } from './account-stream.js';
import { Rng } from './rng.js';
import { LIQUID_MARKETS, liquidMarket, medianBefore, priceAt, type SimMarket } from './sim-market.js';

export const BENIGN_KINDS = [
  'retail',
  'grid_bot',
  'rebalancing_bot',
  'market_maker',
  'new_pair_trier',
  'pump_buyer',
] as const;
export type BenignKind = (typeof BENIGN_KINDS)[number];
export type AttackStrength = 'strong' | 'medium' | 'careful';

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
  /** Counterparty accounts the attackers sold to victims from (empty in a platform's view). */
  attackers: string[];
  /** Whether fills carry `counterpartyAccountId` (an exchange's view) or not (a platform's). */
  exchangeView: boolean;
  /** The key label (third-party platform) whose keys leaked. */
  leakedLabel: string;
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
}

const DEFAULT_MIX: Record<BenignKind, number> = {
  retail: 0.34,
  grid_bot: 0.15,
  rebalancing_bot: 0.15,
  market_maker: 0.03,
  new_pair_trier: 0.15,
  pump_buyer: 0.18,
};

const DAY = 86_400_000;
const MIN = 60_000;

interface Ctx {
  rng: Rng;
  events: InputEvent[];
  liquid: SimMarket[];
  illiquid: SimMarket;
  from: number;
  to: number;
  pumpAt: number;
  exchangeView: boolean;
  name: string;
  /** IPs handed out so far (each new one is distinct). */
  ips: number;
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
 * pump a crowd of sellers (two big dumpers and many small holders taking profit).
 */
function benignCounterparty(ctx: Ctx): (market: SimMarket, t: number) => string | undefined {
  const sellers = Array.from({ length: 60 }, (_, i) => [`${ctx.name}-seller-${i + 1}`, 1 / (i + 1)] as const);
  const crowd = [[`${ctx.name}-dumper-1`, 0.9] as const, [`${ctx.name}-dumper-2`, 0.6] as const, ...sellers];
  return (market, t) => {
    if (!ctx.exchangeView) return undefined;
    const rng = ctx.rng;
    if (market.liquid) return `${ctx.name}-mm-${market.symbol}-${rng.int(1, 6)}`;
    if (t >= ctx.pumpAt - 10 * MIN && t <= ctx.pumpAt + 3 * 3_600_000) return rng.weighted(crowd);
    return rng.chance(0.7) ? `${ctx.name}-mm-${market.symbol}-${rng.int(1, 2)}` : rng.pick(sellers)[0];
  };
}

function newIp(ctx: Ctx): string {
  const n = ++ctx.ips;
  return `10.${ctx.rng.int(0, 255)}.${(n >> 8) & 255}.${n & 255}`;
}

/** A keyed stream: its apikey event, a home IP, maybe a move to another server during the run. */
function setUpKey(ctx: Ctx, s: AccountStream, label: string, movesServer: number): void {
  const rng = ctx.rng;
  s.counterparty = benignCounterparty(ctx);
  if (!s.apiKeyId) return;
  s.clientIp = newIp(ctx);
  if (rng.chance(movesServer))
    s.ipChange = { at: Math.round(rng.uniform(ctx.from, ctx.to)), laterIp: newIp(ctx) };
  s.keyCreated(ctx.from, Math.round(ctx.from - rng.uniform(30, 1100) * DAY), label);
}

function budgetAmount(ctx: Ctx, market: SimMarket, t: number, quoteBudgetBtc: number): number {
  const price = priceAt(market, t);
  // Budgets are in BTC; USDT pairs are scaled by the BTC price.
  const quote = market.symbol.endsWith('/USDT') ? quoteBudgetBtc * 20_000 : quoteBudgetBtc;
  return Math.max(quote / price, 1e-8) * ctx.rng.uniform(0.5, 1.5);
}

/** Times of `perDay` Poisson events a day, between from and to. */
function poissonTimes(rng: Rng, from: number, to: number, perDay: number): number[] {
  const out: number[] = [];
  let t = from;
  for (;;) {
    t += rng.exp(DAY / perDay);
    if (t >= to) return out;
    out.push(Math.round(t));
  }
}

function atMarket(
  ctx: Ctx,
  s: AccountStream,
  t: number,
  market: SimMarket,
  side: 'buy' | 'sell',
  budget: number,
) {
  const slip = ctx.rng.uniform(0, 0.002);
  const price = priceAt(market, t) * (side === 'buy' ? 1 + slip : 1 - slip);
  s.trade(t, market, side, price, budgetAmount(ctx, market, t, budget), {
    type: ctx.rng.chance(0.5) ? 'market' : 'limit',
    fills: ctx.rng.int(1, 3),
  });
}

function retail(ctx: Ctx, s: AccountStream): void {
  const pairs = ctx.rng.sample(ctx.liquid, ctx.rng.int(1, 3));
  const budget = ctx.rng.uniform(0.005, 0.3);
  for (const t of poissonTimes(ctx.rng, ctx.from, ctx.to, ctx.rng.uniform(1, 6))) {
    atMarket(ctx, s, t, ctx.rng.pick(pairs), ctx.rng.chance(0.5) ? 'buy' : 'sell', budget);
  }
}

function gridBot(ctx: Ctx, s: AccountStream): void {
  const market = ctx.rng.chance(0.2) ? ctx.illiquid : ctx.rng.pick(ctx.liquid);
  const step = ctx.rng.uniform(0.003, 0.015);
  const mean = ctx.rng.uniform(3, 15) * MIN;
  const budget = ctx.rng.uniform(0.01, 0.1);
  let t = ctx.from + ctx.rng.exp(mean);
  while (t < ctx.to) {
    const side = ctx.rng.chance(0.5) ? 'buy' : 'sell';
    const mid = priceAt(market, t);
    const price = side === 'buy' ? mid * (1 - step) : mid * (1 + step);
    s.trade(Math.round(t), market, side, price, budgetAmount(ctx, market, t, budget), { fills: 1 });
    t += ctx.rng.exp(mean);
  }
}

function rebalancingBot(ctx: Ctx, s: AccountStream): void {
  const pairs = ctx.rng.sample(ctx.liquid, ctx.rng.int(2, 5));
  const budget = ctx.rng.uniform(0.02, 0.5);
  for (const t of poissonTimes(ctx.rng, ctx.from, ctx.to, 2)) {
    atMarket(ctx, s, t, ctx.rng.pick(pairs), ctx.rng.chance(0.5) ? 'buy' : 'sell', budget);
  }
  for (let day = ctx.from; day < ctx.to; day += DAY) {
    let t = day + ctx.rng.uniform(0, DAY);
    const n = ctx.rng.int(8, 30);
    const span = ctx.rng.uniform(30_000, 180_000);
    for (let i = 0; i < n && t < ctx.to; i++) {
      atMarket(ctx, s, Math.round(t), ctx.rng.pick(pairs), ctx.rng.chance(0.5) ? 'buy' : 'sell', budget / 4);
      t += span / n;
    }
  }
}

function marketMaker(ctx: Ctx, s: AccountStream): void {
  const pairs = ctx.rng.sample(ctx.liquid, ctx.rng.int(2, 4));
  const start = Math.max(ctx.from, ctx.to - 2 * DAY);
  let t = start + ctx.rng.exp(40_000);
  while (t < ctx.to) {
    const market = ctx.rng.pick(pairs);
    const mid = priceAt(market, t);
    const edge = ctx.rng.uniform(0.0005, 0.002);
    const side = ctx.rng.chance(0.5) ? 'buy' : 'sell';
    const price = side === 'buy' ? mid * (1 - edge) : mid * (1 + edge);
    s.trade(Math.round(t), market, side, price, budgetAmount(ctx, market, t, 0.05), { fillProbability: 0.4 });
    t += ctx.rng.exp(40_000);
  }
}

function newPairTrier(ctx: Ctx, s: AccountStream, extraIlliquid: SimMarket[]): void {
  retail(ctx, s);
  const candidates = [...extraIlliquid, ctx.illiquid, ...ctx.liquid];
  const market = ctx.rng.pick(candidates);
  // Any time on the last day, away from the pump (someone trying a pair, not chasing a pump).
  let t = ctx.to - ctx.rng.uniform(0.05, 1) * DAY;
  if (Math.abs(t - ctx.pumpAt) < 2 * 3_600_000) t = ctx.pumpAt - 3 * 3_600_000;
  const n = ctx.rng.int(1, 4);
  for (let i = 0; i < n; i++) {
    atMarket(ctx, s, Math.round(t), market, 'buy', ctx.rng.uniform(0.01, 0.2));
    t += 15_000 + ctx.rng.exp(90_000);
  }
}

function pumpBuyer(ctx: Ctx, s: AccountStream, viaKey: AccountStream): void {
  retail(ctx, s);
  // Most people chase a public pump by hand in the UI; some through their bot's API key.
  const hand = ctx.rng.chance(0.8) ? s : viaKey;
  let t = ctx.pumpAt + Math.min(20 * MIN, ctx.rng.exp(3 * MIN));
  const n = ctx.rng.weighted([
    [1, 0.5],
    [2, 0.3],
    [3, 0.15],
    [4, 0.05],
  ] as const);
  const budget = ctx.rng.uniform(0.01, 0.5);
  let bought = 0;
  for (let i = 0; i < n; i++) {
    // A market buy in a pump sweeps the book: it pays the top of the next seconds' prints.
    const top = Math.max(
      priceAt(ctx.illiquid, t),
      priceAt(ctx.illiquid, t + 5_000),
      priceAt(ctx.illiquid, t + 10_000),
    );
    const price = top * (1 + ctx.rng.uniform(0, 0.02));
    const amount = budgetAmount(ctx, ctx.illiquid, t, budget / n);
    hand.trade(Math.round(t), ctx.illiquid, 'buy', price, amount, { fills: ctx.rng.int(1, 2) });
    bought += amount;
    t += 8_000 + ctx.rng.exp(100_000);
  }
  const sellAt = t + ctx.rng.uniform(1, 6) * 3_600_000;
  if (sellAt < ctx.to) {
    hand.trade(Math.round(sellAt), ctx.illiquid, 'sell', priceAt(ctx.illiquid, sellAt) * 0.995, bought, {
      type: 'market',
    });
  }
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
}

function attack(
  ctx: Ctx,
  s: AccountStream,
  truth: AccountTruth,
  campaign: Campaign,
  only?: AttackStrength,
): void {
  const drawn = ctx.rng.weighted([
    ['strong', 0.3],
    ['medium', 0.3],
    ['careful', 0.4],
  ] as const);
  const strength = only ?? drawn;
  const spec = STRENGTHS[strength];
  const market = ctx.illiquid;
  let t = campaign.startAt + ctx.rng.uniform(0, 11) * MIN;
  // Attack prices are set against the market before the pump (what the coin was worth).
  const reference = medianBefore(market, Math.min(t, ctx.pumpAt) - MIN, 3_600_000);
  const withCounterparty = ctx.exchangeView;
  const counterparty = ctx.rng.pick(campaign.attackers);
  // The attacker drives the stolen key from his own machines.
  s.ipChange = { at: Math.round(t), laterIp: campaign.servers ? ctx.rng.pick(campaign.servers) : newIp(ctx) };
  // Some attackers first sell the victim's liquid coins to fund the buys.
  if (ctx.rng.chance(0.3)) {
    for (let i = ctx.rng.int(1, 3); i > 0; i--) {
      atMarket(ctx, s, Math.round(t), ctx.rng.pick(ctx.liquid), 'sell', ctx.rng.uniform(0.2, 2));
      t += 1_000 + ctx.rng.exp(2_000);
    }
  }
  const attackStart = Math.round(t);
  const orders = ctx.rng.int(spec.orders[0], spec.orders[1]);
  const premium = ctx.rng.uniform(spec.premium[0], spec.premium[1]);
  const budgetBtc = ctx.rng.uniform(0.2, 20);
  const fills: MaliciousFill[] = [];
  for (let i = 0; i < orders; i++) {
    const price = reference * (1 + premium * ctx.rng.uniform(0.9, 1.1));
    const amount = budgetBtc / orders / price;
    const made = s.trade(Math.round(t), market, 'buy', price, amount, {
      fills: ctx.rng.int(1, 2),
      ...(withCounterparty ? { counterpartyAccountId: counterparty } : {}),
    });
    for (const f of made)
      fills.push({ id: f.id, timestamp: f.timestamp, valueMoved: (f.price - reference) * f.amount });
    t += 300 + ctx.rng.exp(spec.gapMs);
  }
  Object.assign(truth, {
    strength,
    symbol: market.symbol,
    attackStart,
    referencePrice: reference,
    premium,
    maliciousFills: fills,
    withCounterparty,
    sharedAttackerIp: campaign.servers !== undefined,
  });
}

export function buildScenario(opts: ScenarioOptions, extraIlliquid: SimMarket[] = []): Scenario {
  const rng = new Rng(opts.seed);
  const events: InputEvent[] = [];
  const liquid = LIQUID_MARKETS.map((spec) => liquidMarket(spec, opts.from, opts.to, rng));
  const pumpAt = opts.illiquid.pumpAt ?? opts.from + (opts.to - opts.from) * 0.875;
  const exchangeView = opts.exchangeView ?? true;
  const ctx: Ctx = {
    rng,
    events,
    liquid,
    illiquid: opts.illiquid,
    from: opts.from,
    to: opts.to,
    pumpAt,
    exchangeView,
    name: opts.name,
    ips: 0,
  };
  for (const m of [...liquid, opts.illiquid, ...extraIlliquid]) events.push(...m.prints, ...m.tickers);

  const truth: Record<string, AccountTruth> = {};
  const mix = { ...DEFAULT_MIX, ...opts.mix };
  const kinds = Object.entries(mix) as Array<[BenignKind, number]>;
  let n = 0;
  for (let i = 0; i < opts.benignAccounts; i++) {
    const kind = rng.weighted(kinds);
    const id = `${opts.name}-a${++n}`;
    const hasKey =
      kind !== 'retail' && kind !== 'pump_buyer' && kind !== 'new_pair_trier' ? true : rng.chance(0.3);
    const s = new AccountStream(events, rng, id, hasKey ? `${id}-k1` : undefined);
    const viaKey = new AccountStream(events, rng, id, `${id}-k2`, 'binance', 'k');
    truth[id] = { kind };
    // Bots run on servers that sometimes move; a person's key trades from wherever they are.
    setUpKey(ctx, s, rng.weighted(LABELS), kind === 'retail' ? 0.3 : 0.1);
    if (kind === 'pump_buyer') setUpKey(ctx, viaKey, rng.weighted(LABELS), 0.1);
    if (kind === 'retail') retail(ctx, s);
    else if (kind === 'grid_bot') gridBot(ctx, s);
    else if (kind === 'rebalancing_bot') rebalancingBot(ctx, s);
    else if (kind === 'market_maker') marketMaker(ctx, s);
    else if (kind === 'new_pair_trier') newPairTrier(ctx, s, extraIlliquid);
    else pumpBuyer(ctx, s, viaKey);
  }
  // One campaign: keys leaked from one platform, used within minutes of each other near the pump.
  const leakedLabel = rng.pick(LABELS.filter(([l]) => l !== ''))[0];
  const campaign: Campaign = {
    attackers: [`${opts.name}-attacker-1`, `${opts.name}-attacker-2`].slice(0, rng.int(1, 2)),
    startAt: pumpAt + rng.uniform(-3, 0) * MIN,
    ...(rng.chance(0.7) ? { servers: Array.from({ length: rng.int(1, 3) }, () => newIp(ctx)) } : {}),
  };
  for (let i = 0; i < opts.victims; i++) {
    const id = `${opts.name}-a${++n}`;
    const baseKind = rng.weighted([
      ['retail', 0.5],
      ['grid_bot', 0.25],
      ['rebalancing_bot', 0.25],
    ] as const);
    const s = new AccountStream(events, rng, id, `${id}-k1`);
    const t: AccountTruth = { kind: 'victim', baseKind };
    truth[id] = t;
    setUpKey(ctx, s, leakedLabel, 0);
    if (baseKind === 'retail') retail(ctx, s);
    else if (baseKind === 'grid_bot') gridBot(ctx, s);
    else rebalancingBot(ctx, s);
    attack(ctx, s, t, campaign, opts.attackStrength);
  }
  // Stable sort: an order precedes its fills at equal timestamps.
  events.sort((a, b) => a.timestamp - b.timestamp);
  return {
    events,
    truth,
    from: opts.from,
    to: opts.to,
    pumpAt,
    illiquidSymbol: opts.illiquid.symbol,
    attackers: exchangeView && opts.victims > 0 ? campaign.attackers : [],
    exchangeView,
    leakedLabel,
  };
}
