import { once } from 'node:events';
import { createWriteStream, writeFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { RuntimeEnv } from '../config/runtime.js';
import { ConfigError, UsageError } from '../errors.js';
import { kafkaConnection } from '../kafka/connection.js';
import type { Logger } from '../logger.js';
import { publishEvents } from '../simulate/publish.js';
import type { Scenario } from '../simulate/scenario.js';
import { syntheticScenario } from '../simulate/synthetic-scenario.js';

function int(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} expects a whole number ≥ ${min}, got "${text}"`);
  return n;
}

export async function writeEvents(scenario: Scenario, out: Writable): Promise<void> {
  for (const event of scenario.events) {
    if (!out.write(`${JSON.stringify(event)}\n`)) await once(out, 'drain');
  }
}

export interface SimulateArgs {
  scenario: Scenario;
  out?: string;
  truth?: string;
  toKafka: boolean;
  rate?: number;
}

export function simulateFromArgs(argv: string[]): SimulateArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      truth: { type: 'string' },
      seed: { type: 'string' },
      days: { type: 'string' },
      accounts: { type: 'string' },
      victims: { type: 'string' },
      'to-kafka': { type: 'boolean' },
      rate: { type: 'string' },
    },
  });
  const scenario = syntheticScenario({
    seed: int('seed', values.seed, 1, 0),
    days: int('days', values.days, 2, 1),
    accounts: int('accounts', values.accounts, 40, 0),
    victims: int('victims', values.victims, 1, 0),
  });
  if (values['to-kafka'] && values.out) throw new UsageError('--to-kafka and --out: choose one');
  return {
    scenario,
    ...(values.out ? { out: values.out } : {}),
    ...(values.truth ? { truth: values.truth } : {}),
    toKafka: values['to-kafka'] ?? false,
    ...(values.rate !== undefined ? { rate: int('rate', values.rate, 0, 1) } : {}),
  };
}

export async function simulateCommand(
  argv: string[],
  env: RuntimeEnv,
  log: Logger,
  stdout: Writable,
  stderr: Writable,
): Promise<number> {
  const { scenario, out, truth, toKafka, rate } = simulateFromArgs(argv);
  if (toKafka) {
    if (!env.KAFKA_BROKERS) throw new ConfigError('simulate --to-kafka needs KAFKA_BROKERS');
    const kafka = kafkaConnection(env.KAFKA_BROKERS, env, log);
    const sent = await publishEvents(kafka, env, scenario.events, rate ? { rate } : {});
    log.info(
      { events: sent, topics: [env.KEYGUARD_TOPIC_ORDERS, env.KEYGUARD_TOPIC_MARKET] },
      'published the simulated stream',
    );
  } else {
    const stream = out ? createWriteStream(out) : stdout;
    await writeEvents(scenario, stream);
    if (out) await new Promise<void>((resolve) => stream.end(resolve));
  }
  if (truth) writeFileSync(truth, `${JSON.stringify(scenario.truth, null, 1)}\n`);
  const victims = Object.values(scenario.truth).filter((t) => t.kind === 'victim').length;
  stderr.write(
    `simulated ${scenario.events.length} events, ${Object.keys(scenario.truth).length} accounts (${victims} attacked)\n`,
  );
  return 0;
}
