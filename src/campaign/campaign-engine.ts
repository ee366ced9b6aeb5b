/**
 * The campaign aggregator's batch step, the same shape as the account engine: load every group the
 * batch touches in one store call, fold the observations in order (skipping those already in a
 * group's stored positions: a redelivery), return the alerts and the group updates. The caller
 * publishes the alerts, then commits the updates, then the input offsets.
 */
import type { DetectionConfig } from '../config/detection.js';
import { groupKeyOf, type KeyAnomaly, type Observation } from '../events/observation.js';
import type { Alert } from '../events/schema.js';
import type { CampaignStore, GroupState, GroupUpdate } from './campaign-store.js';
import { foldKeyAnomaly, newCohortState } from './leak-cohort.js';
import { foldFirstBuy, memberKeyAnomalies, newSymbolCampaignState } from './symbol-campaigns.js';

/** Breaks ties at equal event time: the fill, or the alert behind an anomaly. */
function observationId(o: Observation): string {
  return o.type === 'first_buy' ? o.fillId : o.alertId;
}

export interface SequencedObservation {
  seq: number;
  /** The observations topic-partition it was read from ("replay" when absent). */
  source?: string;
  observation: Observation;
}

export interface CampaignOutcome {
  alerts: Alert[];
  updates: GroupUpdate[];
  alreadyApplied: number;
  /**
   * Campaign members revoked whose key has a label: observations for the leak cohort of that label,
   * which another aggregator may own — they go back onto the observations topic (in one process:
   * `runCampaigns` folds them next). Redelivered, they repeat alert ids the cohort recognises.
   */
  keyAnomalies: KeyAnomaly[];
}

export class CampaignEngine {
  constructor(
    private readonly cfg: DetectionConfig['campaign'],
    private readonly store: CampaignStore,
  ) {}

  async evaluate(batch: readonly SequencedObservation[]): Promise<CampaignOutcome> {
    const groups = [...new Set(batch.map((b) => groupKeyOf(b.observation)))];
    const stored = await this.store.loadGroups(groups);
    const working = new Map<string, GroupUpdate>();
    const outcome: CampaignOutcome = { alerts: [], updates: [], alreadyApplied: 0, keyAnomalies: [] };
    // Folded in event-time order, whatever order the workers' observations arrived in within the
    // batch (positions are per source and the batch is saved whole, so the order of folding does
    // not affect idempotency).
    const ordered = [...batch].sort(
      (a, b) =>
        a.observation.timestamp - b.observation.timestamp ||
        observationId(a.observation).localeCompare(observationId(b.observation)),
    );
    for (const { seq, source = 'replay', observation } of ordered) {
      const group = groupKeyOf(observation);
      const before = stored.get(group);
      let entry = working.get(group);
      if (seq <= (before?.positions[source] ?? Number.NEGATIVE_INFINITY)) {
        outcome.alreadyApplied++;
        continue;
      }
      if (!entry) {
        entry = { group, positions: {}, state: before?.state ?? this.newState(observation) };
        working.set(group, entry);
      }
      entry.positions[source] = Math.max(entry.positions[source] ?? Number.NEGATIVE_INFINITY, seq);
      const alerts = this.fold(entry.state, observation);
      outcome.alerts.push(...alerts);
      if (entry.state.kind === 'symbol' && alerts.length > 0)
        outcome.keyAnomalies.push(...memberKeyAnomalies(entry.state, alerts));
    }
    outcome.updates = [...working.values()];
    return outcome;
  }

  async commit(outcome: CampaignOutcome): Promise<number> {
    return this.store.saveGroups(outcome.updates);
  }

  private newState(o: Observation): GroupState {
    return o.type === 'first_buy' ? newSymbolCampaignState() : newCohortState();
  }

  private fold(state: GroupState, o: Observation): Alert[] {
    if (o.type === 'first_buy' && state.kind === 'symbol') return foldFirstBuy(state, o, this.cfg);
    if (o.type === 'key_anomaly' && state.kind === 'cohort')
      return foldKeyAnomaly(state, o, this.cfg.cohort, this.cfg.baselineDays);
    return []; // group keys differ by type, so a mismatch cannot happen
  }
}

/**
 * The aggregator in one process (replay, evaluation): a batch's observations, then the key
 * anomalies its campaigns derived — what the observations topic carries back between workers —
 * each evaluated, its alerts published (`publish`, awaited), then committed: a crash in between
 * redoes the step with the same alert ids, as the aggregator does.
 */
export async function runCampaigns(
  engine: CampaignEngine,
  observations: readonly Observation[],
  nextSeq: () => number,
  publish: (alerts: readonly Alert[]) => void | Promise<void>,
): Promise<void> {
  let pending: readonly Observation[] = observations;
  while (pending.length > 0) {
    const found = await engine.evaluate(pending.map((observation) => ({ seq: nextSeq(), observation })));
    await publish(found.alerts);
    await engine.commit(found);
    pending = found.keyAnomalies;
  }
}
