/**
 * The README's first command: simulate a short stream with one attack, replay it on the embedded
 * store, and print the alerts readably.
 */
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import type { DetectionConfig } from '../config/detection.js';
import type { Alert } from '../events/schema.js';
import type { Logger } from '../logger.js';
import { syntheticScenario } from '../simulate/synthetic-scenario.js';
import { replayCommand } from './replay-command.js';
import { writeEvents } from './simulate-command.js';

function when(ts: number): string {
  return new Date(ts).toISOString().replace('T', ' ').replace('.000Z', 'Z');
}

export function describeAlert(a: Alert): string {
  const head = `${when(a.timestamp)}  ${a.recommendation.toUpperCase()}  ${a.severity} (score ${a.score})  account ${a.accountId}${a.apiKeyId ? ` key ${a.apiKeyId}` : ''}${a.symbol ? ` ${a.symbol}` : ''}`;
  const lines = a.signals.map(
    (s) => `    ${s.detector.padEnd(18)} ${s.score.toFixed(2)}  ${s.evidence.summary ?? ''}`,
  );
  if (a.valueAtRisk !== undefined)
    lines.push(
      `    value at risk ≈ ${a.valueAtRisk} ${a.valueAtRiskCurrency ?? ''} ((price − reference) × amount)`,
    );
  return [head, ...lines, `    alertId ${a.alertId}`].join('\n');
}

export async function demoCommand(
  loadConfig: (file?: string) => DetectionConfig,
  log: Logger,
  stdout: Writable,
  dir = path.resolve('.keyguard/demo'),
): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const eventsFile = path.join(dir, 'events.jsonl');
  const alertsFile = path.join(dir, 'alerts.jsonl');
  const truthFile = path.join(dir, 'truth.json');
  const scenario = syntheticScenario({
    seed: 2022,
    days: 2,
    accounts: 40,
    victims: 1,
    attackStrength: 'strong',
  });
  const out = createWriteStream(eventsFile);
  await writeEvents(scenario, out);
  await new Promise<void>((resolve) => out.end(resolve));
  writeFileSync(truthFile, `${JSON.stringify(scenario.truth, null, 1)}\n`);
  const victim = Object.entries(scenario.truth).find(([, t]) => t.kind === 'victim');

  stdout.write(
    `keyguard demo: ${scenario.events.length} simulated events (2 days, 40 benign accounts, 1 attacked)\n`,
  );
  if (victim) {
    const [id, t] = victim;
    stdout.write(
      `the attack: account ${id} (normally ${t.baseKind?.replace('_', ' ')}) is made to buy ${t.symbol} ` +
        `${Math.round((t.premium ?? 0) * 100)}% above its pre-pump price: ${t.maliciousFills?.length} fills from ${when(t.attackStart!)}\n\n`,
    );
  }
  const summaryText = new PassThrough();
  let summary = '';
  summaryText.on('data', (d) => {
    summary += d;
  });
  const result = await replayCommand(['--out', alertsFile, eventsFile], loadConfig, log, stdout, summaryText);
  const alerts = readFileSync(alertsFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Alert);
  const revokes = alerts.filter(
    (a) => a.recommendation === 'revoke_key' || a.recommendation === 'freeze_account',
  );
  const reviews = alerts.filter((a) => a.recommendation === 'review');
  stdout.write(`${revokes.length} revoke recommendation(s):\n\n`);
  for (const a of revokes) stdout.write(`${describeAlert(a)}\n\n`);
  stdout.write(`${reviews.length} review alert(s) (first 3):\n\n`);
  for (const a of reviews.slice(0, 3)) stdout.write(`${describeAlert(a)}\n\n`);
  stdout.write(`replay summary:\n${summary}\n`);
  stdout.write(`files:\n  events  ${eventsFile}\n  alerts  ${alertsFile}\n  truth   ${truthFile}\n`);
  stdout.write(`replay them yourself: npx keyguard replay ${path.relative(process.cwd(), eventsFile)}\n`);
  return result.exitCode;
}
