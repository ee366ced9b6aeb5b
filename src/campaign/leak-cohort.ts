/**
 * Leak cohorts: keys made for the same third-party platform (the apikey event's `label`) leak
 * together when that platform is breached. keyguard raises one platform-level breach alert naming
 * the cohort and listing its keys when the label's keys show the attack's pattern together:
 * - many at once: more distinct keys with alerts within the window than `minKeys`, and
 *   `baselineRatio` times the label's own peak on previous days (a label first heard of less than
 *   `minHistoryMs` ago, with no baseline yet, needs twice the keys);
 * - or drained again: `drainKeys` accounts of the label revoked in one pair within the window (a
 *   campaign on the label's keys), when another pair saw the same within `repeatWithinMs` — a
 *   platform whose key store leaked is drained more than once, and ordinary noise does not fall on
 *   one label's keys in one pair twice.
 * Keys drained together do not raise the label's baseline: an earlier attack is not its ordinary
 * level. Only alerts of the attack's pattern count (`minRecommendation`, revoke by default:
 * ordinary noise is reviews), whether the account's own detectors or a campaign revoked the key.
 * When configured, every anomalous key of the cohort gets a bulk recommendation (review or revoke;
 * the webhook circuit breaker guards automatic actions). Pure: state in, alerts out.
 */
import { createHash } from 'node:crypto';
import type { DetectionConfig } from '../config/detection.js';
import type { KeyAnomaly } from '../events/observation.js';
import { type Alert, RECOMMENDATION_LEVEL } from '../events/schema.js';
import { alertIdFor } from '../scoring/alert-id.js';
import { round } from '../scoring/scale.js';
import { countInDay, DAY_MS, notePeak, previousPeak } from '../state/daily-peaks.js';
import { addToWindow } from './time-window.js';

type CohortConfig = DetectionConfig['campaign']['cohort'];

export interface CohortState {
  kind: 'cohort';
  /** Anomalies within the window, oldest first. */
  recent: KeyAnomaly[];
  newest: number;
  /** The earliest anomaly of the label seen, of any level (event time): how long keyguard has watched it. */
  first?: number;
  /** Daily peak of distinct anomalous keys within the window. */
  peaks: number[];
  breach?: { id: string; start: number; last: number; keys: string[] };
  /** The UTC day of the last breach raised and how many that day (numbers the ids). */
  days?: [day: number, count: number];
  /** Pairs the label's keys were drained in (`drainKeys` accounts within the window): the latest time each, oldest first. */
  drains?: Array<[symbol: string, at: number]>;
}

export function newCohortState(): CohortState {
  return { kind: 'cohort', recent: [], newest: 0, peaks: [] };
}

const MAX_RECENT = 2000;
const MAX_DRAINS = 20;

/** Per pair in the window: the distinct accounts revoked in it, and the latest time. */
function pairsOf(recent: readonly KeyAnomaly[]): Map<string, { accounts: Set<string>; at: number }> {
  const out = new Map<string, { accounts: Set<string>; at: number }>();
  for (const x of recent) {
    if (!x.symbol) continue;
    let p = out.get(x.symbol);
    if (!p) out.set(x.symbol, (p = { accounts: new Set(), at: x.timestamp }));
    p.accounts.add(x.accountId);
    p.at = Math.max(p.at, x.timestamp);
  }
  return out;
}

/** Notes the pairs drained now (latest time each) and forgets those older than `keepFrom`. */
function noteDrains(state: CohortState, drained: ReadonlyArray<[string, number]>, keepFrom: number): void {
  const drains = (state.drains ??= []);
  for (const [symbol, at] of drained) {
    const i = drains.findIndex(([s]) => s === symbol);
    if (i >= 0) drains.splice(i, 1);
    drains.push([symbol, at]);
  }
  drains.sort((x, y) => x[1] - y[1]);
  while (drains.length > 0 && (drains[0]![1] < keepFrom || drains.length > MAX_DRAINS)) drains.shift();
}

export function foldKeyAnomaly(
  state: CohortState,
  a: KeyAnomaly,
  cfg: CohortConfig,
  baselineDays: number,
): Alert[] {
  if (state.recent.some((x) => x.alertId === a.alertId)) return [];
  // Every anomaly tells how long keyguard has watched the label; only the attack's pattern counts.
  state.first = Math.min(state.first ?? a.timestamp, a.timestamp);
  if (RECOMMENDATION_LEVEL[a.recommendation] < RECOMMENDATION_LEVEL[cfg.minRecommendation]) return [];
  state.newest = Math.max(state.newest, a.timestamp);
  const horizon = addToWindow(state.recent, a, state.newest, cfg.windowMs, MAX_RECENT);
  if (state.breach && state.breach.last < horizon) delete state.breach;

  const keys = new Map<string, KeyAnomaly>();
  for (const x of state.recent) keys.set(`${x.accountId}\u0000${x.apiKeyId}`, x);
  const drained = [...pairsOf(state.recent)].filter(([, p]) => p.accounts.size >= cfg.drainKeys);
  const drainedAccounts = new Set(drained.flatMap(([, p]) => [...p.accounts]));
  noteDrains(
    state,
    drained.map(([symbol, p]) => [symbol, p.at]),
    state.newest - cfg.repeatWithinMs,
  );
  const baseline = previousPeak(state.peaks, state.newest, baselineDays);
  notePeak(
    state.peaks,
    Math.floor(a.timestamp / DAY_MS),
    [...keys.values()].filter((x) => !drainedAccounts.has(x.accountId)).length,
    Math.floor(state.newest / DAY_MS) - baselineDays,
  );
  const out: Alert[] = [];
  let breach = state.breach;
  if (!breach) {
    const young = state.newest - state.first! < cfg.minHistoryMs;
    const minKeys = young ? 2 * cfg.minKeys : cfg.minKeys;
    const many = keys.size >= minKeys && keys.size >= cfg.baselineRatio * baseline;
    // Drained again: this pair now, another one before (or at the same time).
    const here = a.symbol !== undefined && drained.some(([symbol]) => symbol === a.symbol);
    const before = here ? state.drains!.find(([symbol]) => symbol !== a.symbol) : undefined;
    if (!many && !before) return out;
    // From the evidence, not the arrival order: the label and the UTC day of the window's earliest
    // anomaly (numbered when one label has several breaches a day), as campaigns are named.
    state.days = countInDay(state.days, state.recent[0]!.timestamp);
    const [day, n] = state.days;
    const id = createHash('sha256')
      .update(`leak_cohort\n${a.exchange}\n${a.label}\n${day}${n === 1 ? '' : `#${n}`}`)
      .digest('hex')
      .slice(0, 32);
    breach = { id, start: state.recent[0]!.timestamp, last: a.timestamp, keys: [] };
    state.breach = breach;
    out.push({
      alertId: id,
      exchange: a.exchange,
      accountId: '*',
      timestamp: a.timestamp,
      severity: 'critical',
      score: 1,
      recommendation: 'review',
      scope: 'platform',
      cohort: a.label,
      signals: [
        {
          detector: 'leak_cohort',
          score: 1,
          evidence: {
            summary: `${
              many
                ? `${keys.size} keys labelled "${a.label}" raised alerts within ${round(cfg.windowMs / 60_000, 1)} min (previous daily peak ${baseline})`
                : `keys labelled "${a.label}" were drained in ${before![0]} and now in ${a.symbol}`
            }: the platform these keys were made for may have leaked them; check every key of the cohort`,
            label: a.label,
            keys: keys.size,
            keyList: [...keys.values()]
              .slice(0, 50)
              .map((x) => `${x.accountId}/${x.apiKeyId}`)
              .join(' '),
            baselinePeak: baseline,
            ...(before ? { drainedPairs: `${before[0]} ${a.symbol}` } : {}),
            windowMinutes: round(cfg.windowMs / 60_000, 1),
            bulkRecommendation: cfg.recommendation,
          },
        },
      ],
      eventIds: [...keys.values()].map((x) => x.alertId).slice(-20),
    });
  }
  breach.last = Math.max(breach.last, a.timestamp);
  if (cfg.recommendation === 'none') return out;
  const recommendation = cfg.recommendation;
  for (const [k, x] of keys) {
    if (breach.keys.includes(k)) continue;
    breach.keys.push(k);
    out.push({
      alertId: alertIdFor(x.exchange, x.accountId, `cohort:${breach.id}`, recommendation),
      exchange: x.exchange,
      accountId: x.accountId,
      apiKeyId: x.apiKeyId,
      timestamp: a.timestamp,
      severity: 'high',
      score: cfg.alertScore,
      recommendation,
      cohort: x.label,
      signals: [
        {
          detector: 'leak_cohort',
          score: cfg.alertScore,
          evidence: {
            summary: `key of cohort "${x.label}", ${keys.size} of whose keys turned anomalous together`,
            label: x.label,
            keys: keys.size,
            ownRecommendation: x.recommendation,
          },
        },
      ],
      eventIds: [x.alertId],
      ...(x.symbol ? { symbol: x.symbol } : {}),
    });
  }
  return out;
}
