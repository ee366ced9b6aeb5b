import { type ChildProcess, spawn } from 'node:child_process';
import type { Kafka } from 'kafkajs';
import type { RuntimeEnv } from '../../src/config/runtime.js';

/** A worker (or another long-running command) as its own process (`node bin/keyguard.js worker`), so a test can SIGKILL it. */
export class WorkerProcess {
  private child?: ChildProcess;
  output = '';
  exit?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    private readonly env: RuntimeEnv,
    private readonly command = 'worker',
    private readonly extraEnv: Record<string, string> = {},
  ) {}

  start(): void {
    const env: Record<string, string> = { ...(process.env as Record<string, string>) };
    for (const [k, v] of Object.entries(this.env)) if (v !== undefined) env[k] = String(v);
    Object.assign(env, this.extraEnv);
    const child = spawn(process.execPath, ['bin/keyguard.js', this.command], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d) => {
      this.output += d;
    });
    child.stderr?.on('data', (d) => {
      this.output += d;
    });
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.child = child;
  }

  /** The process id while it runs (benchmarks read its CPU time from /proc). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  kill(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /**
   * SIGTERM and wait for the exit; a process still there after `timeoutMs` is killed and the test
   * fails naming it, with the end of its output (a hang must say where, not run into the test's
   * own time-out).
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const overran = new Promise<'overran'>((resolve) => {
      timer = setTimeout(() => resolve('overran'), timeoutMs);
    });
    const outcome = await Promise.race([this.exit!, overran]);
    clearTimeout(timer);
    if (outcome === 'overran') {
      child.kill('SIGKILL');
      await this.exit;
      throw new Error(
        `keyguard ${this.command} did not exit within ${timeoutMs} ms of SIGTERM; last output:\n${this.output.slice(-3000)}`,
      );
    }
  }
}

/**
 * The group's committed offsets, or undefined while the broker cannot say yet (a fresh broker
 * loading its offsets topic answers "not the correct coordinator" for a while).
 */
async function groupOffsets(
  admin: ReturnType<Kafka['admin']>,
  groupId: string,
  topics: string[],
): Promise<Awaited<ReturnType<ReturnType<Kafka['admin']>['fetchOffsets']>> | undefined> {
  try {
    return await admin.fetchOffsets({ groupId, topics });
  } catch (err) {
    if ((err as { retriable?: boolean }).retriable) return undefined;
    throw err;
  }
}

/**
 * Waits until the worker group has committed every account-topic offset (it processed everything)
 * and, with `campaigns` (worker processes, which run the campaign aggregator) when the workers
 * published campaign observations, until the aggregator group has committed those too (its alerts
 * are out).
 */
export async function waitUntilConsumed(
  kafka: Kafka,
  env: RuntimeEnv,
  timeoutMs: number,
  opts: { campaigns?: boolean } = {},
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const accountTopics = [
    ...new Set([env.KEYGUARD_TOPIC_ORDERS, env.KEYGUARD_TOPIC_FILLS, env.KEYGUARD_TOPIC_APIKEYS]),
  ];
  const high = async (topic: string) =>
    new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  /** Records of `topics` that `groupId` has not committed yet (infinite while its coordinator loads). */
  const behindOf = async (groupId: string, topics: string[]): Promise<number> => {
    const committed = await groupOffsets(admin, groupId, topics);
    if (!committed) return Number.POSITIVE_INFINITY;
    let behind = 0;
    for (const t of committed) {
      const highs = await high(t.topic);
      for (const p of t.partitions) {
        const c = Number(p.offset) < 0 ? 0 : Number(p.offset);
        behind += Math.max(0, (highs.get(p.partition) ?? 0) - c);
      }
    }
    return behind;
  };
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      let behind: number;
      try {
        behind = await behindOf(env.KEYGUARD_GROUP_ID, accountTopics);
        if (behind === 0 && opts.campaigns) {
          const observations = env.KEYGUARD_TOPIC_CAMPAIGN_OBSERVATIONS;
          const published = [...(await high(observations).catch(() => new Map<number, number>())).values()];
          if (published.some((h) => h > 0))
            behind = await behindOf(`${env.KEYGUARD_GROUP_ID}-campaigns`, [observations]);
        }
      } catch (err) {
        // A partition whose leader the broker is still electing (a busy machine, just after the
        // topics were created) answers "not the leader": not yet known, asked again.
        if (!(err as { retriable?: boolean }).retriable) throw err;
        behind = Number.POSITIVE_INFINITY;
      }
      if (behind === 0) return;
      if (Date.now() > deadline)
        throw new Error(`worker group still ${behind} records behind after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await admin.disconnect();
  }
}

/** Waits until the consumer group is stable with `members` members (`undefined`: any number). */
export async function waitForMembers(kafka: Kafka, groupId: string, members?: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let i = 0; i < 600; i++) {
      const { groups } = await admin.describeGroups([groupId]);
      const g = groups[0];
      if (g?.state === 'Stable' && (members === undefined || g.members.length === members)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`group ${groupId} never became stable${members ? ` with ${members} members` : ''}`);
  } finally {
    await admin.disconnect();
  }
}

/** How many account-topic records the worker group has committed so far. */
export async function committedRecords(kafka: Kafka, env: RuntimeEnv): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = [...new Set([env.KEYGUARD_TOPIC_ORDERS, env.KEYGUARD_TOPIC_FILLS])];
    const offsets = (await groupOffsets(admin, env.KEYGUARD_GROUP_ID, topics)) ?? [];
    return offsets.flatMap((t) => t.partitions).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Polls `condition` until it holds; fails naming `what` after `timeoutMs` (conditions, not sleeps). */
export async function waitUntil(
  condition: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
