/**
 * The idempotent producer every consumer stage publishes with (acks = all), made so that no
 * publish can wedge a pipeline:
 * - a publish is cut into sends of at most `maxBatchBytes` (each partition's record batch must stay
 *   under the broker's `message.max.bytes`, 1 MiB by default), and a retried publish resumes after
 *   the sends already acknowledged instead of sending them again;
 * - a send that fails in a way that can leave the idempotent producer's sequence numbers out of
 *   step with the broker (a record batch refused as too large, "out of order sequence number",
 *   an unknown producer id, any non-retriable error) retires that producer and makes a new one (a
 *   new producer id), so the retry starts clean instead of failing forever.
 */
import type { Kafka, Message, Producer } from 'kafkajs';
import type { Logger } from '../logger.js';

export interface TopicMessages {
  topic: string;
  messages: Message[];
}

/** Bytes a message takes on the wire, near enough: key, value, headers and ~70 bytes of framing. */
export function messageBytes(m: Message): number {
  let n = 70;
  if (m.key) n += typeof m.key === 'string' ? Buffer.byteLength(m.key) : m.key.length;
  if (m.value) n += typeof m.value === 'string' ? Buffer.byteLength(m.value) : m.value.length;
  for (const [k, v] of Object.entries(m.headers ?? {})) {
    n += Buffer.byteLength(k) + 8;
    for (const part of Array.isArray(v) ? v : [v])
      if (part !== undefined) n += typeof part === 'string' ? Buffer.byteLength(part) : part.length;
  }
  return n;
}

/**
 * Cuts a publish into sends of at most `maxBytes` each, keeping every topic's messages in order (so
 * one key's messages stay in order). A message larger than `maxBytes` on its own is a send of its
 * own: callers keep every record they make bounded well under that.
 */
export function splitBySize(topicMessages: readonly TopicMessages[], maxBytes: number): TopicMessages[][] {
  const sends: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let size = 0;
  for (const { topic, messages } of topicMessages) {
    let open: TopicMessages | undefined;
    for (const m of messages) {
      const bytes = messageBytes(m);
      if (size > 0 && size + bytes > maxBytes) {
        sends.push(current);
        current = [];
        size = 0;
        open = undefined;
      }
      if (!open) {
        open = { topic, messages: [] };
        current.push(open);
      }
      open.messages.push(m);
      size += bytes;
    }
  }
  if (current.length > 0) sends.push(current);
  return sends;
}

/** kafkajs' error types after which an idempotent producer's sequence state cannot be trusted. */
const BROKEN_SEQUENCE_TYPES = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'DUPLICATE_SEQUENCE_NUMBER',
  'INVALID_PRODUCER_EPOCH',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_ID_MAPPING',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
]);

/** True when a failed send may have left the producer unusable (see BROKEN_SEQUENCE_TYPES). */
export function needsNewProducer(err: unknown): boolean {
  for (
    let e = err as
        | { type?: string; retriable?: boolean; cause?: unknown; originalError?: unknown }
        | undefined,
      depth = 0;
    e && depth < 6;
    depth++
  ) {
    if (e.type && BROKEN_SEQUENCE_TYPES.has(e.type)) return true;
    if (e.retriable === false && e.type !== undefined) return true; // a broker said no for good
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return false;
}

/** One publish, cut into sends; `attempt` sends what is not acknowledged yet (call it again to retry). */
export interface Publication {
  readonly sends: number;
  readonly acknowledged: number;
  attempt(): Promise<void>;
}

export class AckedProducer {
  private producer: Producer;
  private connecting?: Promise<void>;
  private generation = 0;
  /** Producers retired after a send left them unusable. */
  recreated = 0;
  private closed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly maxBatchBytes: number,
    private readonly log: Logger,
  ) {
    this.producer = this.make();
  }

  private make(): Producer {
    return this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  }

  /** Connected (or connecting again after a recreation): what readiness reports. */
  get connected(): boolean {
    return this.connecting !== undefined && !this.closed;
  }

  async connect(): Promise<void> {
    this.closed = false;
    await this.ensureConnected();
  }

  private ensureConnected(): Promise<void> {
    if (!this.connecting) {
      const attempt = this.producer.connect();
      this.connecting = attempt;
      attempt.catch(() => {
        if (this.connecting === attempt) this.connecting = undefined; // the next send tries again
      });
    }
    return this.connecting;
  }

  async disconnect(): Promise<void> {
    this.closed = true;
    this.connecting = undefined;
    await this.producer.disconnect();
  }

  /** Starts a publish; nothing is sent until `attempt()`. */
  publication(topicMessages: readonly TopicMessages[]): Publication {
    const nonEmpty = topicMessages.filter((t) => t.messages.length > 0);
    const sends = splitBySize(nonEmpty, this.maxBatchBytes);
    let acknowledged = 0;
    return {
      sends: sends.length,
      get acknowledged() {
        return acknowledged;
      },
      attempt: async () => {
        while (acknowledged < sends.length) {
          await this.send(sends[acknowledged]!);
          acknowledged++;
        }
      },
    };
  }

  /** Publishes everything in one go (no resumption): for callers that retry a whole step. */
  async publish(topicMessages: readonly TopicMessages[]): Promise<void> {
    await this.publication(topicMessages).attempt();
  }

  private async send(topicMessages: TopicMessages[]): Promise<void> {
    const generation = this.generation;
    const producer = this.producer;
    try {
      await this.ensureConnected();
      await producer.sendBatch({ topicMessages, acks: -1 });
    } catch (err) {
      if (needsNewProducer(err)) await this.recreate(generation, err);
      throw err;
    }
  }

  /** Retires the producer of `generation` (unless another failed send already did) for a new one. */
  private async recreate(generation: number, cause: unknown): Promise<void> {
    if (generation !== this.generation || this.closed) return;
    this.generation++;
    this.recreated++;
    const old = this.producer;
    this.producer = this.make();
    this.connecting = undefined;
    this.log.warn(
      { err: (cause as Error)?.message, recreated: this.recreated },
      'producer state unusable after a failed send: replaced it with a new producer',
    );
    await old.disconnect().catch(() => {});
  }
}
