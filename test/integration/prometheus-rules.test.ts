import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { keyguardRegistry } from '../helpers/metrics.js';
import { requireTool } from '../services/missing-tool.js';

const rules = parse(readFileSync('config/prometheus-rules.yml', 'utf8')) as {
  groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
};

describe('Prometheus alerting rules (promtool from the Debian prometheus package)', () => {
  it('pass promtool check rules and their unit tests', () => {
    requireTool('promtool', '--version', 'apt-get install -y prometheus');
    const check = spawnSync('promtool', ['check', 'rules', 'config/prometheus-rules.yml'], {
      encoding: 'utf8',
    });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const test = spawnSync('promtool', ['test', 'rules', 'rules.test.yml'], {
      cwd: 'test/prometheus',
      encoding: 'utf8',
    });
    expect(test.status, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toMatch(/SUCCESS/);
  });

  it('read only metrics that keyguard processes register', () => {
    const registry = keyguardRegistry();
    const all = rules.groups.flatMap((g) => g.rules);
    expect(all.map((r) => r.alert)).toContain('KeyguardRedisErrors');
    for (const r of all) {
      const names = [...r.expr.matchAll(/keyguard_[a-z_]+/g)].map((m) =>
        m[0].replace(/_(bucket|sum|count)$/, ''),
      );
      expect(names.length, r.alert).toBeGreaterThan(0);
      for (const name of names) expect(registry.getSingleMetric(name), `${name} in ${r.alert}`).toBeDefined();
    }
  });
});
