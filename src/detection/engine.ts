/**
 * Runs the detectors over a batch of events in order: reads every account's baseline for the batch
 * in one store call, folds events into baselines and market books, scores each account event,
 * and returns alerts plus the state updates. The caller publishes the alerts first and only then
 * calls `commit` (state), then acknowledges the input: a crash in between replays the batch,
 * which recomputes the same alerts (same ids) and, once committed, never counts an event twice.
 */

import { ConfigTimeline, type ConfigVersion } from '../config/config-versions.js';
import type { DetectionConfig } from '../config/detection.js';
import { offMarketTolerance } from '../detectors/off-market-fill.js';
import { type ErrorCode, ErrorCodes } from '../errors.js';
import type { Observation } from '../events/observation.js';
import {
  type AccountEvent,
  type Alert,
  type EventKind,
  type InputEvent,
  isAccountEvent,
  RECOMMENDATION_LEVEL,
  type Signal,
} from '../events/schema.js';
import { quoteOf } from '../events/symbol.js';
import { isQuietMarket, type MarketSnapshot } from '../market/market-book.js';
import type { MarketState } from '../market/market-state.js';
import { alertIdFor } from '../scoring/alert-id.js';
import { sig } from '../scoring/scale.js';
import {
  type AccountState,
  applyAccountEvent,
  applyApiKeyEvent,
  newAccountState,
  noteOwnPrint,
  noteQuietPremium,
  usdValue,
} from '../state/account-state.js';
import {
  type AccountRef,
  type AccountUpdate,
  accountKey,
  type BaselineStore,
} from '../state/baseline-store.js';
import { type AccountDetector, type DetectorFailure, scoreAccountEvent } from './account-detectors.js';
import { firstBuyObservation } from './first-buy.js';
import { fuse, type Verdict } from './fusion.js';

export interface SequencedEvent {
  /** Monotonic position of the event in its source (Kafka offset, replay line number). */
  seq: number;
  event: InputEvent;
  /** Where it comes from (a Kafka topic-partition); "replay" when absent. */
  source?: string;
}

export interface EventFailure {
  seq: number;
  source?: string;
  event: InputEvent;
  code: ErrorCode;
  reason: string;
}

export interface BatchOutcome {
  alerts: Alert[];
  updates: AccountUpdate[];
  failures: EventFailure[];
  eventsByKind: Record<EventKind, number>;
  /** Account events already folded into the stored baseline (a redelivered batch). */
  alreadyApplied: number;
  /** For the campaign aggregator: first buys of illiquid pairs and anomalous labelled keys. */
  observations: Observation[];
}

/**
 * One open review per account and pattern (the detectors at ≥ 0.5) within `fusion.reviewWindowMs`,
 * unless the evidence grew (score up by `reviewGrowth`): a queue a team can work. Notes the review
 * in the state when it is raised.
 */
function repeatsReview(
  state: AccountState,
  signals: readonly Signal[],
  score: number,
  at: number,
  cfg: DetectionConfig,
): boolean {
  const pattern = signals
    .filter((s) => s.score >= 0.5)
    .map((s) => s.detector)
    .sort()
    .join('+');
  const last = state.rv;
  if (
    last &&
    last.p === pattern &&
    at - last.t < cfg.fusion.reviewWindowMs &&
    score < last.s + cfg.fusion.reviewGrowth
  )
    return true;
  state.rv = { t: at, p: pattern, s: score };
  return false;
}

const NO_PRINTS: readonly string[] = [];

/** The trade ids of the account's own prints to leave out of the live market: its fills in a new pair, and this one. */
function ownPrints(event: AccountEvent, state: AccountState): readonly string[] {
  const fi = state.syms[event.symbol]?.fi ?? NO_PRINTS;
  return event.kind === 'fill' ? [...fi, event.id] : fi;
}

/**
 * Whether the live market is worth reading for this event: a price beyond the reference (a buy
 * above it, a sell below), the only case `above_live_market` judges. Most events are not.
 */
function beyondReference(event: AccountEvent, market: MarketSnapshot): boolean {
  const price = event.price;
  if (price === undefined) return false;
  const ref = market.reference?.price;
  return ref === undefined || (event.side === 'buy' ? price > ref : price < ref);
}

export interface EngineOptions {
  /**
   * Fold account events into the baselines and nothing else: no scoring, no alerts, no
   * observations, market events ignored (`keyguard backfill`: warm baselines from history).
   */
  baselinesOnly?: boolean;
  /** The per-account detectors to run (default: all of `ACCOUNT_DETECTORS`). */
  detectors?: readonly AccountDetector[];
  /** Config versions over event time (default: `cfg` alone); each event is scored with the one in effect at its timestamp. */
  versions?: ConfigTimeline;
}

export class DetectionEngine {
  private readonly versions: ConfigTimeline;

  constructor(
    cfg: DetectionConfig,
    private readonly store: BaselineStore,
    private readonly market: MarketState,
    private readonly opts: EngineOptions = {},
  ) {
    this.versions = opts.versions ?? new ConfigTimeline(cfg);
  }

  /** Events in processing order; each is skipped if its source position is already in the baseline. */
  async evaluate(batch: readonly SequencedEvent[]): Promise<BatchOutcome> {
    const refs = new Map<string, AccountRef>();
    for (const { event } of batch) {
      if (isAccountEvent(event) || event.kind === 'apikey')
        refs.set(accountKey(event), { exchange: event.exchange, accountId: event.accountId });
    }
    const stored = await this.store.loadAccounts([...refs.values()]);
    const working = new Map<string, AccountUpdate>();
    const outcome: BatchOutcome = {
      alerts: [],
      updates: [],
      failures: [],
      eventsByKind: { order: 0, fill: 0, trade: 0, ticker: 0, apikey: 0 },
      alreadyApplied: 0,
      observations: [],
    };

    /** Detectors that threw on the event in hand (reused: most events have none). */
    const detectorFailures: DetectorFailure[] = [];
    for (const { seq, event, source = 'replay' } of batch) {
      outcome.eventsByKind[event.kind]++;
      if (event.kind === 'trade' || event.kind === 'ticker') {
        if (!this.opts.baselinesOnly) this.market.apply(event);
        continue;
      }
      const key = accountKey(event);
      const before = stored.get(key);
      let entry = working.get(key);
      // Already in the stored baseline, or already seen in this batch (a redelivery): skip.
      const applied = entry?.positions[source] ?? before?.positions[source] ?? Number.NEGATIVE_INFINITY;
      if (seq <= applied) {
        outcome.alreadyApplied++;
        continue;
      }
      if (!entry) {
        entry = {
          exchange: event.exchange,
          accountId: event.accountId,
          positions: {},
          state: before?.state ?? newAccountState(event.timestamp),
        };
        working.set(key, entry);
      }
      entry.positions[source] = Math.max(entry.positions[source] ?? Number.NEGATIVE_INFINITY, seq);
      try {
        if (event.kind === 'apikey') {
          applyApiKeyEvent(entry.state, event); // key context: label (cohort), creation time
          continue;
        }
        const version = this.versions.at(event.timestamp);
        if (this.opts.baselinesOnly) {
          applyAccountEvent(entry.state, event, version.config);
          continue;
        }
        const alert = this.scoreAndFold(event, entry.state, version, outcome.observations, detectorFailures);
        if (alert) outcome.alerts.push(alert);
        if (detectorFailures.length > 0) {
          for (const f of detectorFailures)
            outcome.failures.push({
              seq,
              source,
              event,
              code: ErrorCodes.DETECTOR_FAILED,
              reason: `detector ${f.detector} failed (the others scored the event): ${f.error.message}`,
            });
          detectorFailures.length = 0;
        }
      } catch (err) {
        outcome.failures.push({
          seq,
          source,
          event,
          code: ErrorCodes.DETECTOR_FAILED,
          reason: `detector failed: ${(err as Error).message}`,
        });
      }
    }
    outcome.updates = [...working.values()];
    return outcome;
  }

  /** Tells the store how far the stream has been processed (stores that expire on event time use it). */
  advanceWatermark(eventTime: number): void {
    this.store.advanceTo?.(eventTime);
  }

  /** Persists the baselines of an evaluated batch; call after its alerts are delivered. */
  async commit(outcome: BatchOutcome): Promise<number> {
    return this.store.saveAccounts(outcome.updates);
  }

  /** fold → score → decide → alert → observe, for one account event. */
  private scoreAndFold(
    event: AccountEvent,
    state: AccountState,
    version: ConfigVersion,
    observations: Observation[],
    failures: DetectorFailure[],
  ): Alert | undefined {
    const cfg = version.config;
    const market = this.fold(event, state, cfg);
    const signals = scoreAccountEvent(event, state, market, cfg, this.opts.detectors, failures);
    noteQuietPremium(
      state,
      event,
      signals.find((s) => s.detector === 'above_live_market'),
      market.live,
      cfg,
    );
    const verdict =
      signals.length > 0
        ? fuse(signals, cfg.fusion, {
            apiKey: event.apiKeyId !== undefined,
            // No other account's print within `liveMarket.maxAgeMs` is the quietest market of all.
            quietMarket: market.live === undefined || isQuietMarket(market.live, cfg.liveMarket),
          })
        : undefined;
    if (cfg.campaign.enabled && event.kind === 'fill') {
      const first = firstBuyObservation(event, state, market, verdict?.recommendation ?? 'none', cfg);
      if (first) observations.push(first);
    }
    if (!verdict || !decide(event, state, signals, verdict, cfg)) return undefined;
    const alert = buildAlert(event, state, signals, verdict, version);
    const anomaly = keyAnomaly(event, state, alert, cfg);
    if (anomaly) observations.push(anomaly);
    return alert;
  }

  /** Folds the event into the account's baseline; the market as it stands for the event. */
  private fold(event: AccountEvent, state: AccountState, cfg: DetectionConfig): MarketSnapshot {
    applyAccountEvent(state, event, cfg);
    const market = this.market.snapshot(event.exchange, event.symbol, event.timestamp);
    const ref = market.reference;
    if (event.kind === 'fill' && ref)
      noteOwnPrint(state, event, ref.price, offMarketTolerance(ref.dispersion, cfg), cfg);
    if (beyondReference(event, market))
      market.live = this.market.live(event.exchange, event.symbol, event.timestamp, ownPrints(event, state));
    return market;
  }
}

/**
 * Whether the verdict becomes an alert: an action at all, not a repeat of the same level within
 * the cooldown, not a review repeating an open one. Notes the alert in the state when it is.
 */
function decide(
  event: AccountEvent,
  state: AccountState,
  signals: readonly Signal[],
  verdict: Verdict,
  cfg: DetectionConfig,
): boolean {
  const level = RECOMMENDATION_LEVEL[verdict.recommendation];
  if (level === 0) return false;
  const last = state.alert;
  if (last && level <= last.lvl && event.timestamp - last.t < cfg.fusion.cooldownMs) return false;
  if (
    verdict.recommendation === 'review' &&
    repeatsReview(state, signals, verdict.score, event.timestamp, cfg)
  )
    return false;
  state.alert = { t: event.timestamp, lvl: level };
  return true;
}

/** The alert record: its id from the order and recommendation, the evidence, the value at risk. */
function buildAlert(
  event: AccountEvent,
  state: AccountState,
  signals: Signal[],
  verdict: Verdict,
  { config: cfg, version }: ConfigVersion,
): Alert {
  const off = signals.find((s) => s.detector === 'off_market_fill');
  const valueAtRisk = typeof off?.evidence.valueMoved === 'number' ? off.evidence.valueMoved : undefined;
  const valueAtRiskUsd =
    valueAtRisk === undefined ? undefined : usdValue(event.symbol, valueAtRisk, cfg.size);
  return {
    alertId: alertIdFor(
      event.exchange,
      event.accountId,
      event.kind === 'order' ? event.id : event.order,
      verdict.recommendation,
    ),
    exchange: event.exchange,
    accountId: event.accountId,
    ...(event.apiKeyId ? { apiKeyId: event.apiKeyId } : {}),
    timestamp: event.timestamp,
    severity: verdict.severity,
    score: verdict.score,
    recommendation: verdict.recommendation,
    signals,
    eventIds: [...state.ev],
    symbol: event.symbol,
    ...(valueAtRisk !== undefined ? { valueAtRisk, valueAtRiskCurrency: quoteOf(event.symbol) } : {}),
    ...(valueAtRiskUsd !== undefined ? { valueAtRiskUsd: sig(valueAtRiskUsd, 6) } : {}),
    configVersion: version,
  };
}

/** For the leak-cohort aggregator: an alert on a labelled key. */
function keyAnomaly(
  event: AccountEvent,
  state: AccountState,
  alert: Alert,
  cfg: DetectionConfig,
): Observation | undefined {
  const label = event.apiKeyId ? state.km?.[event.apiKeyId]?.lb : undefined;
  if (!cfg.campaign.enabled || !label || !event.apiKeyId) return undefined;
  return {
    type: 'key_anomaly',
    exchange: event.exchange,
    label,
    accountId: event.accountId,
    apiKeyId: event.apiKeyId,
    timestamp: event.timestamp,
    alertId: alert.alertId,
    recommendation: alert.recommendation,
    score: alert.score,
    symbol: event.symbol,
  };
}
