/**
 * `npm run eval`: detection quality on simulated accounts over real Binance pump tapes
 * (../shared/data/binance-pumps when present, synthetic thin markets otherwise), against two
 * textbook baselines. Prints one table; every number comes from this run.
 *
 *   npm run eval -- [--tapes DIR] [--scenarios N] [--benign N] [--victims N] [--seed N] [--earlier no] [--copy no] [--days N] [--shape S]
 *   npm run eval -- --perturb [--seeds 7,8,9] [--scenarios N]
 *
 * Scenarios alternate an exchange's view (fills name the counterparty) and a platform's, and an
 * attack during the tape's public pump and one in a quiet thin pair the attackers pump alone; the
 * leaked label's keys were drained once before, 12–48 h earlier, in a quiet pair of its own.
 * `--perturb` runs the full configuration again with the simulator's behaviour parameters moved
 * (rates, sizes, burst lengths, prices ×0.5 and ×1.5; each look-alike behaviour's share ×0.5 and
 * ×2) over several seeds, and prints the worst case of each figure.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CampaignEngine } from '../src/campaign/campaign-engine.js';
import { MemoryCampaignStore } from '../src/campaign/campaign-store.js';
import {
  type DetectionConfig,
  loadDetectionConfig,
  mergeConfig,
  parseDetectionConfig,
} from '../src/config/detection.js';
import { DetectionEngine } from '../src/detection/engine.js';
import type { Alert, InputEvent } from '../src/events/schema.js';
import { MarketState } from '../src/market/market-state.js';
import { processAll } from '../src/replay/process-all.js';
import { loadTape, readTapeLabels } from '../src/simulate/binance-tape.js';
import {
  type Evaluation,
  type EvaluationTable,
  evaluate,
  firstRevokes,
  summarize,
} from '../src/simulate/evaluation.js';
import { FEED_SHAPES, type FeedShape, reshapeFeed } from '../src/simulate/feed-shape.js';
import { Rng } from '../src/simulate/rng.js';
import {
  type BehaviourParams,
  buildScenario,
  DEFAULT_PARAMS,
  type Scenario,
} from '../src/simulate/scenario.js';
import { type SimMarket, syntheticIlliquidMarket } from '../src/simulate/sim-market.js';
import { MemoryBaselineStore } from '../src/state/memory-store.js';

const { values: args } = parseArgs({
  options: {
    tapes: { type: 'string', default: path.resolve('../shared/data/binance-pumps') },
    scenarios: { type: 'string', default: '24' },
    benign: { type: 'string', default: '220' },
    /** Victims per scenario (one campaign): a number or a range "3-10". */
    victims: { type: 'string', default: '3-10' },
    seed: { type: 'string', default: '7' },
    config: { type: 'string' },
    perturb: { type: 'boolean', default: false },
    seeds: { type: 'string', default: '7,8,9' },
    /** `no`: no earlier campaign on the leaked label (the scenarios before it was added). */
    earlier: { type: 'string', default: 'yes' },
    /** Days of stream per scenario (the tape's pump half a day before its end). */
    days: { type: 'string', default: '4' },
    /** `no`: no copy-trading platform's followers (the scenarios before they were added). */
    copy: { type: 'string', default: 'yes' },
    /** The account stream as another feed might send it (see src/simulate/feed-shape.ts). */
    shape: { type: 'string', default: 'as-is' },
  },
});

const DAY = 86_400_000;
const cfg = loadDetectionConfig(args.config);
if (!(FEED_SHAPES as readonly string[]).includes(args.shape)) {
  console.error(`--shape ${args.shape}: expected one of ${FEED_SHAPES.join(', ')}`);
  process.exit(2);
}
const shape = args.shape as FeedShape;
const [minVictims, maxVictims] = args.victims.split('-').map(Number) as [number, number?];
const victimCount = new Rng(Number(args.seed) * 17);
const drawVictims = () => (maxVictims === undefined ? minVictims : victimCount.int(minVictims, maxVictims));

/** The account detectors alone (as before key context and campaigns), with key context, and everything. */
const variants = {
  accountOnly: withOverride({
    campaign: { enabled: false },
    keyContext: { newIpScore: 0, dormantScore: 0, oldKeyScore: 0 },
  }),
  keyContext: withOverride({ campaign: { enabled: false } }),
  full: cfg,
};

function withOverride(override: unknown): DetectionConfig {
  return parseDetectionConfig(mergeConfig(cfg, override), 'eval variant');
}

/** `events`: the scenario's stream in the `--shape` asked for (see `reshapeFeed`). */
async function keyguard(events: readonly InputEvent[], variant: DetectionConfig): Promise<Alert[]> {
  const engine = new DetectionEngine(
    variant,
    new MemoryBaselineStore(variant.state.ttlSeconds * 1000),
    new MarketState(variant),
  );
  const campaigns = variant.campaign.enabled
    ? new CampaignEngine(variant.campaign, new MemoryCampaignStore())
    : undefined;
  const { alerts, failures } = await processAll(engine, events, {
    batchSize: 2000,
    firstSeq: 1,
    ...(campaigns ? { campaigns } : {}),
  });
  if (failures.length > 0) {
    throw new Error(`detector failures, e.g. ${failures[0]!.reason}: the evaluation would be meaningless`);
  }
  return alerts;
}

type Decision = { accountId: string; timestamp: number; recommendation: 'revoke_key' };

/** Baseline 1: per-account z-score of the hourly fill count against the account's own past hours. */
function zScoreBaseline(events: readonly InputEvent[]): Decision[] {
  const HOUR = 3_600_000;
  const hours = new Map<string, { first: number; counts: Map<number, number> }>();
  const out: Decision[] = [];
  for (const e of events) {
    if (e.kind !== 'fill') continue;
    const h = Math.floor(e.timestamp / HOUR);
    let acct = hours.get(e.accountId);
    if (!acct) hours.set(e.accountId, (acct = { first: h, counts: new Map() }));
    const current = (acct.counts.get(h) ?? 0) + 1;
    acct.counts.set(h, current);
    const past = h - acct.first;
    if (past < 24) continue; // a day of history first
    let sum = 0;
    let sq = 0;
    for (const [hour, c] of acct.counts) {
      if (hour < h) {
        sum += c;
        sq += c * c;
      }
    }
    const mean = sum / past;
    const std = Math.sqrt(Math.max(sq / past - mean * mean, 0));
    if ((current - mean) / Math.max(std, 0.5) > 3)
      out.push({ accountId: e.accountId, timestamp: e.timestamp, recommendation: 'revoke_key' });
  }
  return out;
}

/** Baseline 2: a buy filled more than 10 % above the last public print (sell 10 % below). */
function lastPrintBaseline(events: readonly InputEvent[]): Decision[] {
  const last = new Map<string, number>();
  const out: Decision[] = [];
  for (const e of events) {
    if (e.kind === 'trade') {
      last.set(e.symbol, e.price);
    } else if (e.kind === 'fill') {
      const p = last.get(e.symbol);
      if (p === undefined) continue;
      const dev = e.side === 'buy' ? e.price / p - 1 : 1 - e.price / p;
      if (dev > 0.1)
        out.push({ accountId: e.accountId, timestamp: e.timestamp, recommendation: 'revoke_key' });
    }
  }
  return out;
}

function markets(): Array<{ name: string; market: (from: number, to: number) => SimMarket; pumpAt: number }> {
  const n = Number(args.scenarios);
  if (existsSync(path.join(args.tapes, 'labels.csv'))) {
    return readTapeLabels(args.tapes)
      .filter((l) => existsSync(path.join(args.tapes, l.file)))
      .slice(0, n)
      .map((label, i) => ({
        name: `t${i}`,
        pumpAt: label.pumpAt,
        market: (from, to) => loadTape(args.tapes, label, from, to),
      }));
  }
  console.error(`no tapes at ${args.tapes}: using synthetic thin markets`);
  const rng = new Rng(Number(args.seed) * 31);
  return Array.from({ length: n }, (_, i) => {
    const pumpAt = Date.UTC(2022, 10, 1 + i, 17);
    return {
      name: `s${i}`,
      pumpAt,
      market: (from, to) => syntheticIlliquidMarket(`SYN${i}/BTC`, from, to, pumpAt, rng),
    };
  });
}

function pct(x: number, digits = 1): string {
  return `${(x * 100).toFixed(digits)}%`;
}

function printTable(title: string, t: EvaluationTable): void {
  console.log(`\n## ${title}`);
  console.log(
    '| attack | victims | revoked | recall | median fills before revoke | median s to revoke | value prevented |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const [s, r] of Object.entries(t.byStrength)) {
    console.log(
      `| ${s} | ${r.victims} | ${r.revoked} | ${pct(r.recall)} | ${r.medianFillsBefore ?? '-'} | ${r.medianSeconds?.toFixed(1) ?? '-'} | ${pct(r.prevented)} |`,
    );
  }
  console.log(
    `\nvalue prevented overall (revoke at alert + 1 s): ${pct(t.preventedShare)}; median fills before the revoke: ${t.medianFillsBefore ?? '-'}`,
  );
  console.log(
    '| benign behaviour | accounts | false revokes | rate | account-days reviewed (after day 1) | reviews / 1,000 accounts / day |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const [k, r] of Object.entries(t.benign)) {
    console.log(
      `| ${k} | ${r.accounts} | ${r.falseRevokes} | ${pct(r.rate, 2)} | ${pct(r.reviewedDayShare, 2)} | ${r.days ? ((1000 * r.reviewAlerts) / r.days).toFixed(1) : '-'} |`,
    );
  }
  console.log(
    `| all benign | ${t.benignAccounts} | | ${pct(t.falseRevokeRate, 3)} | ${pct(t.reviewedDayShare, 2)} | ${t.reviewsPerThousandPerDay.toFixed(1)} |`,
  );
  console.log(
    `victims whose key was revoked on their benign trading before the attack: ${t.victimsRevokedBeforeAttack}`,
  );
  console.log(
    `attacker (counterparty) accounts frozen: ${t.attackersFrozen} of ${t.attackers}${t.attackers ? ` (${pct(t.attackersFrozen / t.attackers)})` : ''}; other accounts frozen: ${t.othersFrozen}`,
  );
  console.log(
    `platform (leak-cohort) alerts after the first day: ${t.platformOnLeaked} on the leaked label, ${t.platformOnOthers} on other labels; raised within 1 h of the leaked label's second campaign: ${t.platformInTime} of ${t.secondCampaigns}`,
  );
}

function scenarioFor(
  m: ReturnType<typeof markets>[number],
  i: number,
  seed: number,
  params: BehaviourParams,
  victims: number,
): Scenario | undefined {
  const from = m.pumpAt - (Number(args.days) - 0.5) * DAY;
  const to = m.pumpAt + 0.5 * DAY;
  const illiquid = m.market(from, to);
  if (illiquid.prints.length < 10) return undefined;
  // Every other pair of scenarios: the attack in a quiet thin pair (no public pump), alone.
  const quiet =
    Math.floor(i / 2) % 2 === 1
      ? syntheticIlliquidMarket(`QUIET${i}/BTC`, from, to, to + DAY, new Rng(seed * 7919 + i))
      : undefined;
  const earlier =
    args.earlier === 'no'
      ? undefined
      : syntheticIlliquidMarket(`EARLY${i}/BTC`, from, to, to + DAY, new Rng(seed * 6_101 + i));
  return buildScenario({
    seed: seed * 1000 + i,
    name: m.name,
    illiquid,
    from,
    to,
    benignAccounts: Number(args.benign),
    victims,
    // Half the scenarios from an exchange's view (fills name the counterparty), half a platform's.
    exchangeView: i % 2 === 0,
    ...(quiet ? { quiet } : {}),
    ...(earlier ? { earlier } : {}),
    copyPlatform: args.copy !== 'no',
    params,
  });
}

const list = markets();

async function defaultRun(): Promise<void> {
  const runs: Record<string, Evaluation[]> = {
    accountOnly: [],
    keyContext: [],
    full: [],
    zscore: [],
    lastPrint: [],
  };
  let totalEvents = 0;
  let engineSeconds = 0;
  /** Every alert id of the full configuration, in order: a refactoring must leave it unchanged. */
  const alertIds = createHash('sha256');
  let alertCount = 0;
  for (const [i, m] of list.entries()) {
    const scenario = scenarioFor(m, i, Number(args.seed), DEFAULT_PARAMS, drawVictims());
    if (!scenario) continue;
    totalEvents += scenario.events.length;
    const feed = reshapeFeed(scenario.events, shape);
    let alerts: Alert[] = [];
    for (const [name, variant] of Object.entries(variants)) {
      const t0 = performance.now();
      alerts = await keyguard(feed, variant);
      if (name === 'full') {
        engineSeconds += (performance.now() - t0) / 1000;
        for (const a of alerts) alertIds.update(`${a.alertId}\n`);
        alertCount += alerts.length;
      }
      runs[name]!.push(evaluate(scenario.truth, firstRevokes(alerts), scenario));
    }
    runs.zscore!.push(evaluate(scenario.truth, firstRevokes(zScoreBaseline(scenario.events)), scenario));
    runs.lastPrint!.push(
      evaluate(scenario.truth, firstRevokes(lastPrintBaseline(scenario.events)), scenario),
    );
    process.stderr.write(
      `scenario ${m.name} (${illiquid(scenario)}): ${scenario.events.length} events, ${alerts.length} alerts\n`,
    );
  }
  console.log(
    `# keyguard evaluation — ${list.length} scenarios, ${totalEvents} events, engine ${Math.round(totalEvents / engineSeconds)} events/s`,
  );
  printTable('keyguard: account detectors only (no key context, no campaigns)', summarize(runs.accountOnly!));
  printTable('keyguard: account detectors + key context', summarize(runs.keyContext!));
  printTable(
    'keyguard: everything (config/detection.json: + campaign fan-in, leak cohorts)',
    summarize(runs.full!),
  );
  printTable('baseline: per-account z-score of hourly fill count > 3', summarize(runs.zscore!));
  printTable('baseline: fill > 10 % beyond the last public print', summarize(runs.lastPrint!));
  console.log(`\nalert ids (full configuration): ${alertCount}, sha256 ${alertIds.digest('hex')}`);
}

function illiquid(s: Scenario): string {
  return s.setting === 'quiet_pair' ? `${s.illiquidSymbol}, attack in ${s.attackSymbol}` : s.illiquidSymbol;
}

/** The figures the targets are about, each with the direction that is worse. */
const FIGURES: Array<
  [name: string, worse: 'low' | 'high', read: (t: EvaluationTable) => number | undefined]
> = [
  ['recall strong', 'low', (t) => t.byStrength.strong?.recall],
  ['recall medium', 'low', (t) => t.byStrength.medium?.recall],
  ['recall careful', 'low', (t) => t.byStrength.careful?.recall],
  ['value prevented', 'low', (t) => t.preventedShare],
  ['value prevented, medium', 'low', (t) => t.byStrength.medium?.prevented],
  ['false revokes, all benign', 'high', (t) => t.falseRevokeRate],
  ['false revokes, worst behaviour', 'high', (t) => Math.max(...Object.values(t.benign).map((b) => b.rate))],
  ['benign account-days reviewed (after day 1)', 'high', (t) => t.reviewedDayShare],
  ['attackers frozen', 'low', (t) => (t.attackers ? t.attackersFrozen / t.attackers : undefined)],
  ['other accounts frozen', 'high', (t) => t.othersFrozen],
  ['median fills before the revoke', 'high', (t) => t.medianFillsBefore],
  ['platform alerts on other labels', 'high', (t) => t.platformOnOthers],
  [
    "leak reported within 1 h of the label's second campaign",
    'low',
    (t) => (t.secondCampaigns ? t.platformInTime / t.secondCampaigns : undefined),
  ],
];

const LOOKALIKES = [
  'api_pump_buyer',
  'ui_pump_buyer',
  'grid_bot_new_pair',
  'market_maker_new_pair',
  'arbitrage_bot',
  'new_pair_trier',
  'dormant_waker',
  'server_mover',
  'copy_trader',
];

function perturbations(): Array<[string, BehaviourParams]> {
  const out: Array<[string, BehaviourParams]> = [['default', DEFAULT_PARAMS]];
  for (const k of ['rate', 'size', 'burst', 'price'] as const)
    for (const f of [0.5, 1.5]) out.push([`${k} ×${f}`, { ...DEFAULT_PARAMS, [k]: f }]);
  for (const kind of LOOKALIKES)
    for (const f of [0.5, 2]) out.push([`${kind} share ×${f}`, { ...DEFAULT_PARAMS, share: { [kind]: f } }]);
  return out;
}

async function perturbRun(): Promise<void> {
  const seeds = args.seeds.split(',').map(Number);
  const worst = new Map<string, { value: number; where: string }>();
  const atDefault = new Map<string, number>();
  const worse = (dir: 'low' | 'high', a: number, b: number) => (dir === 'low' ? a < b : a > b);
  /** Per benign behaviour: the worst false-revoke rate and the worst share of account-days reviewed. */
  const byBehaviour = new Map<
    string,
    { revoked: number; revokedAt: string; reviewed: number; reviewedAt: string }
  >();
  const alertIds = createHash('sha256');
  let alertCount = 0;
  let runs = 0;
  /** Summed over every run: a change too small to move a worst case still shows here. */
  const totals = {
    benign: 0,
    falseRevokes: 0,
    reviewedDays: 0,
    days: 0,
    victims: 0,
    revoked: 0,
    frozen: 0,
    attackers: 0,
  };
  for (const [name, params] of perturbations()) {
    for (const seed of seeds) {
      const evals: Evaluation[] = [];
      const victims = new Rng(seed * 17);
      for (const [i, m] of list.entries()) {
        const scenario = scenarioFor(m, i, seed, params, victims.int(minVictims, maxVictims ?? minVictims));
        if (!scenario) continue;
        const alerts = await keyguard(reshapeFeed(scenario.events, shape), cfg);
        for (const a of alerts) alertIds.update(`${a.alertId}\n`);
        alertCount += alerts.length;
        evals.push(evaluate(scenario.truth, firstRevokes(alerts), scenario));
      }
      runs++;
      const table = summarize(evals);
      const { falseRevokes } = table.benignAll;
      totals.reviewedDays += table.benignAll.reviewedDays;
      totals.days += table.benignAll.days;
      totals.benign += table.benignAll.accounts;
      totals.falseRevokes += falseRevokes;
      for (const strength of ['strong', 'medium', 'careful']) {
        totals.victims += table.byStrength[strength]!.victims;
        totals.revoked += table.byStrength[strength]!.revoked;
      }
      totals.frozen += table.attackersFrozen;
      totals.attackers += table.attackers;
      for (const [kind, b] of Object.entries(table.benign)) {
        const w = byBehaviour.get(kind) ?? { revoked: -1, revokedAt: '', reviewed: -1, reviewedAt: '' };
        if (b.rate > w.revoked) Object.assign(w, { revoked: b.rate, revokedAt: `${name}, seed ${seed}` });
        if (b.reviewedDayShare > w.reviewed)
          Object.assign(w, { reviewed: b.reviewedDayShare, reviewedAt: `${name}, seed ${seed}` });
        byBehaviour.set(kind, w);
      }
      for (const [figure, dir, read] of FIGURES) {
        const value = read(table);
        if (value === undefined) continue;
        const w = worst.get(figure);
        if (!w || worse(dir, value, w.value)) worst.set(figure, { value, where: `${name}, seed ${seed}` });
        const d = atDefault.get(figure);
        if (name === 'default' && (d === undefined || worse(dir, value, d))) atDefault.set(figure, value);
      }
      process.stderr.write(
        `perturbation ${name}, seed ${seed}: ${evals.length} scenarios, false revokes ${falseRevokes}\n`,
      );
    }
  }
  console.log(
    `# keyguard evaluation, perturbed — ${perturbations().length} parameter sets × ${seeds.length} seeds (${runs} runs of ${list.length} scenarios)`,
  );
  console.log('| figure | worst case | where | default run (worst seed) |');
  console.log('|---|---|---|---|');
  for (const [figure] of FIGURES) {
    const w = worst.get(figure);
    if (!w) continue;
    const count = figure.startsWith('median') || figure.startsWith('other') || figure.startsWith('platform');
    const fmt = (v: number) =>
      count ? String(v) : pct(v, figure.startsWith('false') || figure.startsWith('benign') ? 2 : 1);
    const d = atDefault.get(figure);
    console.log(`| ${figure} | ${fmt(w.value)} | ${w.where} | ${d === undefined ? '-' : fmt(d)} |`);
  }
  console.log('\n| benign behaviour | worst false revokes | where | worst account-days reviewed | where |');
  console.log('|---|---|---|---|---|');
  for (const [kind, w] of [...byBehaviour].sort(([a], [b]) => a.localeCompare(b)))
    console.log(
      `| ${kind} | ${pct(w.revoked, 2)} | ${w.revokedAt} | ${pct(w.reviewed, 2)} | ${w.reviewedAt} |`,
    );
  console.log(
    `\nover every run: false revokes ${totals.falseRevokes} of ${totals.benign} benign accounts, account-days reviewed ${totals.reviewedDays} of ${totals.days}, victims revoked ${totals.revoked} of ${totals.victims}, attackers frozen ${totals.frozen} of ${totals.attackers}`,
  );
  console.log(`alert ids (every run): ${alertCount}, sha256 ${alertIds.digest('hex')}`);
}

if (args.perturb) await perturbRun();
else await defaultRun();
