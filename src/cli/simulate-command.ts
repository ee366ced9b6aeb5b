import { once } from 'node:events';
import { createWriteStream, writeFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
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

export function simulateFromArgs(argv: string[]): { scenario: Scenario; out?: string; truth?: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      truth: { type: 'string' },
      seed: { type: 'string' },
      days: { type: 'string' },
      accounts: { type: 'string' },
      victims: { type: 'string' },
    },
  });
  const scenario = syntheticScenario({
    seed: int('seed', values.seed, 1, 0),
    days: int('days', values.days, 2, 1),
    accounts: int('accounts', values.accounts, 40, 0),
    victims: int('victims', values.victims, 1, 0),
  });
  return {
    scenario,
    ...(values.out ? { out: values.out } : {}),
    ...(values.truth ? { truth: values.truth } : {}),
  };
}

export async function simulateCommand(argv: string[], stdout: Writable, stderr: Writable): Promise<number> {
  const { scenario, out, truth } = simulateFromArgs(argv);
  const stream = out ? createWriteStream(out) : stdout;
  await writeEvents(scenario, stream);
  if (out) await new Promise<void>((resolve) => stream.end(resolve));
  if (truth) writeFileSync(truth, `${JSON.stringify(scenario.truth, null, 1)}\n`);
  const victims = Object.values(scenario.truth).filter((t) => t.kind === 'victim').length;
  stderr.write(
    `simulated ${scenario.events.length} events, ${Object.keys(scenario.truth).length} accounts (${victims} attacked)\n`,
  );
  return 0;
}
