/**
 * `npm run eval`: detection quality on simulated accounts over real Binance pump tapes
 * (../shared/data/binance-pumps when present, synthetic thin markets otherwise), against two
 * textbook baselines. Prints one table; every number comes from this run.
 *
 *   npm run eval -- [--tapes DIR] [--scenarios N] [--benign N] [--victims N] [--seed N]
 */
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
import { loadTape, readTapeLabels } from '../src/simulate/binance-tape.js';
import {
  type Evaluation,
  type EvaluationTable,
  evaluate,
  firstRevokes,
  summarize,
} from '../src/simulate/evaluation.js';
import { Rng } from '../src/simulate/rng.js';
import { buildScenario, type Scenario } from '../src/simulate/scenario.js';
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
  },
});

const DAY = 86_400_000;
const cfg = loadDetectionConfig(args.config);
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

async function keyguard(scenario: Scenario, variant: DetectionConfig): Promise<Alert[]> {
  const engine = new DetectionEngine(
    variant,
    new MemoryBaselineStore(variant.state.ttlSeconds * 1000),
    new MarketState(variant),
  );
  const campaigns = variant.campaign.enabled
    ? new CampaignEngine(variant.campaign, new MemoryCampaignStore())
    : undefined;
  const { alerts, failures } = await engine.processAll(scenario.events, 2000, 1, campaigns);
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
  console.log(`\nvalue prevented overall (revoke at alert + 1 s): ${pct(t.preventedShare)}`);
  console.log('| benign kind | accounts | false revokes | rate | reviewed |');
  console.log('|---|---|---|---|---|');
  for (const [k, r] of Object.entries(t.benign)) {
    console.log(`| ${k} | ${r.accounts} | ${r.falseRevokes} | ${pct(r.rate, 2)} | ${r.reviews} |`);
  }
  console.log(`| all benign | ${t.benignAccounts} | | ${pct(t.falseRevokeRate, 3)} | |`);
  console.log(
    `victims whose key was revoked on their benign trading before the attack: ${t.victimsRevokedBeforeAttack}`,
  );
  console.log(
    `attacker (counterparty) accounts frozen: ${t.attackersFrozen} of ${t.attackers}${t.attackers ? ` (${pct(t.attackersFrozen / t.attackers)})` : ''}; other accounts frozen: ${t.othersFrozen}`,
  );
}

const runs: Record<string, Evaluation[]> = {
  accountOnly: [],
  keyContext: [],
  full: [],
  zscore: [],
  lastPrint: [],
};
let totalEvents = 0;
let engineSeconds = 0;
const list = markets();
for (const [i, m] of list.entries()) {
  const from = m.pumpAt - 3.5 * DAY;
  const to = m.pumpAt + 0.5 * DAY;
  const illiquid = m.market(from, to);
  if (illiquid.prints.length < 10) continue;
  const scenario = buildScenario({
    seed: Number(args.seed) * 1000 + i,
    name: m.name,
    illiquid,
    from,
    to,
    benignAccounts: Number(args.benign),
    victims: drawVictims(),
    // Half the scenarios from an exchange's view (fills name the counterparty), half a platform's.
    exchangeView: i % 2 === 0,
  });
  totalEvents += scenario.events.length;
  let alerts: Alert[] = [];
  for (const [name, variant] of Object.entries(variants)) {
    const t0 = performance.now();
    alerts = await keyguard(scenario, variant);
    if (name === 'full') engineSeconds += (performance.now() - t0) / 1000;
    const k = firstRevokes(alerts);
    runs[name]!.push(evaluate(scenario.truth, k.first, k.reviews, scenario.attackers, k.frozen));
  }
  runs.zscore!.push(evaluate(scenario.truth, firstRevokes(zScoreBaseline(scenario.events)).first));
  runs.lastPrint!.push(evaluate(scenario.truth, firstRevokes(lastPrintBaseline(scenario.events)).first));
  process.stderr.write(
    `scenario ${m.name} (${illiquid.symbol}): ${scenario.events.length} events, ${alerts.length} alerts\n`,
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
