/**
 * Leak cohorts: keys made for the same third-party platform (the apikey event's `label`) leak
 * together when that platform is breached. When keys of one label turn anomalous together — more
 * distinct keys with alerts within the window than `minKeys`, and `baselineRatio` times the
 * label's own peak on previous days — keyguard raises one platform-level breach alert naming the
 * cohort and listing its keys, and, when configured, gives every anomalous key of it a bulk
 * recommendation (review or revoke; the webhook circuit breaker guards automatic actions). Only
 * alerts of the attack's pattern count (`minRecommendation`, revoke by default: ordinary noise is
 * reviews), and a label first heard of less than `minHistoryMs` ago, with no baseline yet, needs
 * twice the keys. Pure: state in, alerts out.
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
}

export function newCohortState(): CohortState {
  return { kind: 'cohort', recent: [], newest: 0, peaks: [] };
}

const MAX_RECENT = 2000;

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
  const baseline = previousPeak(state.peaks, state.newest, baselineDays);
  notePeak(
    state.peaks,
    Math.floor(a.timestamp / DAY_MS),
    keys.size,
    Math.floor(state.newest / DAY_MS) - baselineDays,
  );
  const out: Alert[] = [];
  let breach = state.breach;
  if (!breach) {
    const young = state.newest - state.first! < cfg.minHistoryMs;
    const minKeys = young ? 2 * cfg.minKeys : cfg.minKeys;
    if (keys.size < minKeys || keys.size < cfg.baselineRatio * baseline) return out;
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
            summary: `${keys.size} keys labelled "${a.label}" raised alerts within ${round(cfg.windowMs / 60_000, 1)} min (previous daily peak ${baseline}): the platform these keys were made for may have leaked them; check every key of the cohort`,
            label: a.label,
            keys: keys.size,
            keyList: [...keys.values()]
              .slice(0, 50)
              .map((x) => `${x.accountId}/${x.apiKeyId}`)
              .join(' '),
            baselinePeak: baseline,
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
