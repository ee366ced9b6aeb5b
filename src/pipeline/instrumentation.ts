/**
 * What a consumer stage reports, as named events (kafkajs-style): metrics, logs or a benchmark
 * listen here instead of being called from inside the stages. Emitting costs a property read when
 * nobody listens.
 */
import type { Message } from 'kafkajs';
import type { Alert } from '../events/schema.js';

export const STAGE_EVENTS = {
  /** A fetched batch's records, counted by event kind ("invalid" for what did not decode). */
  CONSUMED: 'consumed',
  /** A step failed and is retried after `delayMs`. */
  RETRY: 'retry',
  /** A step of a batch done, retries included: where a batch's time goes. */
  STEP_DONE: 'step_done',
  /** Alerts and dead letters acknowledged by Kafka (before the offsets are committed). */
  PUBLISHED: 'published',
  /** A batch done: committed. */
  BATCH_DONE: 'batch_done',
  /** A batch given up (shutdown, or the partition moved): nothing committed, it is redone. */
  BATCH_ABANDONED: 'batch_abandoned',
  /** A consumer stopped after a non-retriable error and is being started again. */
  RESTART: 'restart',
  /** The number of partitions paused retrying a failure changed. */
  PAUSED: 'paused',
  /** An account batch was scored before the market caught up with it (the wait timed out). */
  MARKET_WAIT_TIMEOUT: 'market_wait_timeout',
} as const;

export interface StageEventPayloads {
  consumed: { stage: string; topic: string; partition: number; kinds: Record<string, number>; lag?: number };
  retry: {
    stage: string;
    step: string;
    partitions?: readonly number[];
    attempt: number;
    delayMs: number;
    error: string;
  };
  step_done: { stage: string; step: string; partitions: readonly number[]; ms: number };
  published: {
    stage: string;
    alerts: readonly Alert[];
    deadLetters: readonly Message[];
    /** Kafka append time of the event that raised each alert, by event id (latency). */
    appendedAt?: ReadonlyMap<string, number>;
    /** Records published for the campaign aggregator. */
    observations?: number;
  };
  batch_done: { stage: string; partitions: readonly number[]; records: number; ms: number };
  batch_abandoned: { stage: string; partitions: readonly number[]; reason: string };
  restart: { stage: string; error: string };
  paused: { stage: string; partitions: number };
  market_wait_timeout: { stage: string; partitions: readonly number[] };
}

export type StageEvent = keyof StageEventPayloads;
type Listener<E extends StageEvent> = (payload: StageEventPayloads[E]) => void;

export class StageInstrumentation {
  private readonly listeners: { [E in StageEvent]?: Array<Listener<E>> } = {};

  on<E extends StageEvent>(event: E, listener: Listener<E>): () => void {
    const list = (this.listeners[event] ??= []) as Array<Listener<E>>;
    list.push(listener);
    return () => list.splice(list.indexOf(listener), 1);
  }

  /** Whether anyone listens (callers skip building a payload otherwise). */
  has(event: StageEvent): boolean {
    return (this.listeners[event]?.length ?? 0) > 0;
  }

  emit<E extends StageEvent>(event: E, payload: StageEventPayloads[E]): void {
    const list = this.listeners[event] as Array<Listener<E>> | undefined;
    if (!list) return;
    for (const l of list) l(payload);
  }
}
