/**
 * Replay: contract events as JSONL in, alerts as JSONL out, on event time. A bad line is reported
 * with its source and line number and skipped; everything around it is processed.
 */

import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { type CampaignEngine, runCampaigns } from '../campaign/campaign-engine.js';
import type { DetectionEngine, SequencedEvent } from '../detection/engine.js';
import type { ErrorCode } from '../errors.js';
import { decodeEvent, type EventClock, eventId } from '../events/decode.js';
import { sameTimeRank } from '../events/event-order.js';
import { alertRecordJson } from '../events/records.js';
import type { Alert, EventKind, InputEvent, Recommendation } from '../events/schema.js';
import { ReorderBuffer } from './reorder-buffer.js';

export interface ReplayInput {
  name: string;
  stream: Readable;
}

export interface RejectedLine {
  source: string;
  line: number;
  code: ErrorCode;
  reason: string;
}

export interface ReplaySummary {
  events: number;
  eventsByKind: Record<EventKind, number>;
  alerts: number;
  alertsByRecommendation: Partial<Record<Recommendation, number>>;
  rejected: number;
  detectorFailures: number;
  lateEvents: number;
  seconds: number;
  eventsPerSecond: number;
}

export interface ReplayOptions {
  batchSize: number;
  reorderMs: number;
  onAlert: (alert: Alert) => void | Promise<void>;
  onRejected: (rejected: RejectedLine) => void;
  /** The campaign aggregator, run in-process on each batch's observations (absent: account alerts only). */
  campaigns?: CampaignEngine;
  /** Events dated more than this ahead of the wall clock are rejected (KG_ERR_EVENT_TIME_AHEAD). */
  maxFutureSkewMs: number;
  /**
   * The source name positions are kept under (default "replay"): events are numbered in processing
   * order, so the same inputs replayed again skip what the store already holds.
   */
  source?: string;
  /** Called after each batch is committed. */
  onBatch?: (progress: { events: number; accounts: number; alreadyApplied: number }) => void;
}

async function writeLine(out: Writable, text: string): Promise<void> {
  if (!out.write(`${text}\n`)) await once(out, 'drain');
}

/** Writes alerts as JSONL, waiting for the stream when it is full (stdout in a pipe). */
export function jsonlAlertWriter(out: Writable): (alert: Alert) => Promise<void> {
  return (alert) => writeLine(out, alertRecordJson(alert));
}

export async function replay(
  inputs: readonly ReplayInput[],
  engine: DetectionEngine,
  opts: ReplayOptions,
): Promise<ReplaySummary> {
  const started = process.hrtime.bigint();
  const summary: ReplaySummary = {
    events: 0,
    eventsByKind: { order: 0, fill: 0, trade: 0, ticker: 0, apikey: 0 },
    alerts: 0,
    alertsByRecommendation: {},
    rejected: 0,
    detectorFailures: 0,
    lateEvents: 0,
    seconds: 0,
    eventsPerSecond: 0,
  };
  const buffer = new ReorderBuffer<InputEvent>(opts.reorderMs, sameTimeRank);
  const clock: EventClock = { now: Date.now(), maxFutureSkewMs: opts.maxFutureSkewMs };
  let pending: SequencedEvent[] = [];
  let seq = 0;
  let observations = 0;

  const runBatch = async () => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    const outcome = await engine.evaluate(batch);
    for (const alert of outcome.alerts) {
      summary.alerts++;
      summary.alertsByRecommendation[alert.recommendation] =
        (summary.alertsByRecommendation[alert.recommendation] ?? 0) + 1;
      await opts.onAlert(alert);
    }
    for (const f of outcome.failures) {
      summary.detectorFailures++;
      opts.onRejected({
        source: 'detector',
        line: f.seq,
        code: f.code,
        reason: `${eventId(f.event)}: ${f.reason}`,
      });
    }
    if (opts.campaigns) {
      await runCampaigns(
        opts.campaigns,
        outcome.observations,
        () => ++observations,
        async (found) => {
          for (const alert of found) {
            summary.alerts++;
            summary.alertsByRecommendation[alert.recommendation] =
              (summary.alertsByRecommendation[alert.recommendation] ?? 0) + 1;
            await opts.onAlert(alert);
          }
        },
      );
    }
    await engine.commit(outcome);
    opts.onBatch?.({
      events: summary.events,
      accounts: outcome.updates.length,
      alreadyApplied: outcome.alreadyApplied,
    });
    // Expiry on event time follows the stream's watermark, never one event's own claim.
    engine.advanceWatermark(buffer.watermark);
  };
  const enqueue = (events: InputEvent[]) => {
    for (const event of events) {
      pending.push({ seq: ++seq, event, ...(opts.source ? { source: opts.source } : {}) });
      summary.events++;
      summary.eventsByKind[event.kind]++;
    }
  };

  for (const input of inputs) {
    let lineNo = 0;
    const handle = (raw: string) => {
      lineNo++;
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() === '') return;
      const decoded = decodeEvent(line, clock);
      if (!decoded.ok) {
        summary.rejected++;
        opts.onRejected({ source: input.name, line: lineNo, code: decoded.code, reason: decoded.reason });
        return;
      }
      enqueue(buffer.push(decoded.event.timestamp, decoded.event));
    };
    // Lines are split by hand and handled synchronously; the only await is per batch.
    const decoder = new StringDecoder('utf8');
    let rest = '';
    for await (const chunk of input.stream) {
      clock.now = Date.now();
      const text = rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
      let start = 0;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
        handle(text.slice(start, nl));
        start = nl + 1;
      }
      rest = text.slice(start);
      if (pending.length >= opts.batchSize) await runBatch();
    }
    rest += decoder.end();
    if (rest !== '') handle(rest);
  }
  enqueue(buffer.flush());
  await runBatch();
  summary.lateEvents = buffer.late;
  summary.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  summary.eventsPerSecond = Math.round(summary.events / Math.max(summary.seconds, 1e-9));
  return summary;
}

export function formatSummary(s: ReplaySummary): string {
  const kinds = Object.entries(s.eventsByKind)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const recs = Object.entries(s.alertsByRecommendation)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return [
    `events: ${s.events} (${kinds || 'none'})`,
    `alerts: ${s.alerts}${recs ? ` (${recs})` : ''}`,
    `rejected lines: ${s.rejected}${s.detectorFailures ? `, detector failures: ${s.detectorFailures}` : ''}${s.lateEvents ? `, late events: ${s.lateEvents}` : ''}`,
    `time: ${s.seconds.toFixed(2)} s, ${s.eventsPerSecond} events/s`,
  ].join('\n');
}
