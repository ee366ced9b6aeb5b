import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/main.js';
import { ReorderBuffer } from '../../src/replay/reorder-buffer.js';
import { syntheticScenario } from '../../src/simulate/synthetic-scenario.js';
import { capture, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'keyguard-replay-'));
const scenario = syntheticScenario({ seed: 3, days: 2, accounts: 15, victims: 1, attackStrength: 'strong' });
const eventsFile = path.join(dir, 'events.jsonl');
writeFileSync(eventsFile, `${scenario.events.map((e) => JSON.stringify(e)).join('\n')}\n`);

const replay = (args: string[]) => runCli(['replay', ...args]);

describe('keyguard replay', () => {
  it('writes only alert lines to stdout, the summary to stderr, and the same alerts every time', async () => {
    const first = await replay([eventsFile]);
    const second = await replay([eventsFile]);
    expect(first.code).toBe(0);
    const lines = first.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty('alertId');
    expect(lines.some((l) => JSON.parse(l).recommendation === 'revoke_key')).toBe(true);
    expect(second.stdout).toBe(first.stdout);
    expect(first.stderr).toMatch(/events: \d+ \(order \d+, fill \d+, trade \d+, ticker \d+, apikey \d+\)/);
    expect(first.stderr).toMatch(/events\/s/);
  });

  it('reports bad lines with their number and reason, processes the rest, and exits 3', async () => {
    const good = readFileSync(eventsFile, 'utf8').trim().split('\n');
    const bad = [
      ...good.slice(0, 100),
      'not json at all',
      JSON.stringify({ kind: 'fill', exchange: 'binance', timestamp: 1, symbol: 'X/BTC', price: 'high' }),
      ...good.slice(100),
    ];
    const file = path.join(dir, 'with-bad-lines.jsonl');
    writeFileSync(file, `${bad.join('\n')}\n`);
    const clean = await replay([eventsFile]);
    const r = await replay([file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${file}:101: KG_ERR_EVENT_NOT_JSON`);
    expect(r.stderr).toContain(`${file}:102: KG_ERR_EVENT_INVALID: id: `);
    expect(r.stderr).toMatch(/rejected lines: 2/);
    expect(r.stdout).toBe(clean.stdout);
  });

  it('rejects an event dated in the future and an id with invisible characters, and the rest gives the same alerts', async () => {
    const good = readFileSync(eventsFile, 'utf8').trim().split('\n');
    const anOrder = scenario.events.find((e) => e.kind === 'order')!;
    const future = { ...anOrder, id: 'from-the-future', timestamp: Date.UTC(3000, 0, 1) };
    const invisible = {
      ...anOrder,
      id: 'zwj',
      accountId: `${anOrder.accountId.slice(0, 3)}\u200d${anOrder.accountId.slice(3)}`,
    };
    const file = path.join(dir, 'with-impossible-lines.jsonl');
    const half = Math.floor(good.length / 2);
    writeFileSync(
      file,
      `${[...good.slice(0, half), JSON.stringify(future), JSON.stringify(invisible), ...good.slice(half)].join('\n')}\n`,
    );
    const clean = await replay([eventsFile]);
    const r = await replay([file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      new RegExp(
        `${file}:${half + 1}: KG_ERR_EVENT_TIME_AHEAD: timestamp: 3000-01-01T00:00:00.000Z is \\d+ s ahead of the clock`,
      ),
    );
    expect(r.stderr).toContain(
      `${file}:${half + 2}: KG_ERR_EVENT_INVALID: accountId: expected 1–256 visible characters`,
    );
    expect(r.stdout).toBe(clean.stdout);
  });

  it('reads stdin when given no file, and writes alerts to --out', async () => {
    const out = path.join(dir, 'alerts.jsonl');
    const stdin = Object.getOwnPropertyDescriptor(process, 'stdin')!;
    Object.defineProperty(process, 'stdin', {
      value: Readable.from([readFileSync(eventsFile)]),
      configurable: true,
    });
    try {
      const r = await replay(['--out', out]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('');
      expect(readFileSync(out, 'utf8')).toBe((await replay([eventsFile])).stdout);
    } finally {
      Object.defineProperty(process, 'stdin', stdin);
    }
  });

  it('exits 2 with a message on usage and config errors', async () => {
    expect((await replay(['/no/such/file.jsonl'])).stderr).toMatch(/KG_ERR_USAGE: no such file/);
    expect((await replay(['--batch', 'many', eventsFile])).code).toBe(2);
    const cfg = path.join(dir, 'bad-config.json');
    writeFileSync(cfg, JSON.stringify({ offMarket: { fullDeviation: -1 } }));
    const r = await replay(['--config', cfg, eventsFile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/KG_ERR_CONFIG_INVALID: .*offMarket\.fullDeviation/);
    const unknown = capture();
    expect(await main(['frobnicate'], capture().stream, unknown.stream)).toBe(2);
    expect(unknown.text()).toMatch(/unknown command/);
  });
});

describe('keyguard help and version', () => {
  it("prints every command's usage on --help / -h and exits 0, reading no environment and starting nothing", async () => {
    const saved = process.env.KAFKA_BROKERS;
    process.env.KAFKA_BROKERS = 'not a broker list'; // would be a configuration error (exit 2)
    try {
      for (const command of [
        'demo',
        'replay',
        'simulate',
        'convert',
        'worker',
        'market-feed',
        'collect',
        'webhooks',
      ]) {
        for (const flag of ['--help', '-h']) {
          const r = await runCli([command, flag]);
          expect(r.code, `${command} ${flag}: ${r.stderr}`).toBe(0);
          expect(r.stdout).toMatch(new RegExp(`^keyguard ${command}`));
          expect(r.stderr).toBe('');
        }
      }
    } finally {
      if (saved === undefined) delete process.env.KAFKA_BROKERS;
      else process.env.KAFKA_BROKERS = saved;
    }
  });

  it('prints the package version', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
    for (const flag of ['--version', '-V'])
      expect((await runCli([flag])).stdout).toBe(`keyguard ${version}\n`);
  });
});

describe('reorder buffer', () => {
  it('releases events in event-time order once the watermark passes, late ones at once', () => {
    const b = new ReorderBuffer<string>(10);
    expect(b.push(100, 'a')).toEqual([]);
    expect(b.push(95, 'b')).toEqual([]);
    expect(b.push(112, 'c')).toEqual(['b', 'a']);
    expect(b.push(90, 'late')).toEqual(['late']);
    expect(b.late).toBe(1);
    expect(b.flush()).toEqual(['c']);
  });

  it('puts market events first at equal time, then keeps arrival order (the worker sees the same)', () => {
    const b = new ReorderBuffer<string>(10, (s) => (s.startsWith('trade') ? 0 : 1));
    b.push(100, 'fill-1');
    b.push(100, 'order-2');
    b.push(100, 'trade-3');
    b.push(99, 'fill-0');
    expect(b.flush()).toEqual(['fill-0', 'trade-3', 'fill-1', 'order-2']);
    expect(b.watermark).toBe(100);
  });
});
