/**
 * The package as users install it: built, packed with `npm pack`, installed into an empty project
 * with production dependencies only (`npm ci --offline` from npm's cache: no network), then `keyguard --help`,
 * `keyguard simulate` and `keyguard replay` run from it, and its exported contract loads. The build
 * goes to a staging folder, so the checkout's own `dist/` is never written.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';

const root = path.join(import.meta.dirname, '..', '..');

function run(command: string, args: string[], cwd: string): { stdout: string; stderr: string; ms: number } {
  const started = performance.now();
  const r = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    timeout: 240_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = performance.now() - started;
  if (r.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} exited ${r.status}:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-3000)}`,
    );
  return { stdout: r.stdout, stderr: r.stderr, ms };
}

/**
 * An empty project that depends on the tarball, with a lockfile pinning the tarball and the
 * checkout's own locked production dependencies: `npm ci --offline` then installs from npm's cache
 * (filled by the checkout's `npm ci`) without asking the registry anything.
 */
function appWithLockfile(app: string, tarball: string): void {
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, Record<string, unknown>>;
  };
  const self = lock.packages['']!;
  const spec = `file:${tarball}`;
  const packages: Record<string, unknown> = {
    '': { name: 'app', dependencies: { keyguard: spec } },
    'node_modules/keyguard': {
      version: self.version,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      license: self.license,
      dependencies: self.dependencies,
      bin: self.bin,
      engines: self.engines,
    },
  };
  for (const [where, entry] of Object.entries(lock.packages))
    if (where.startsWith('node_modules/') && !entry.dev && !entry.link) packages[where] = entry;
  writeFileSync(
    path.join(app, 'package-lock.json'),
    JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }),
  );
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { keyguard: spec } }),
  );
}

describe('the npm package', () => {
  it('packs dist/, declarations, schemas and LICENSE (no tests or sources), installs with production dependencies only, and runs', () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'keyguard-package-'));
    onTestFinished(() => rmSync(tmp, { recursive: true, force: true })); // a tarball and ~100 MB of node_modules
    const stage = path.join(tmp, 'stage');
    mkdirSync(stage);
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { files: string[] };
    for (const entry of pkg.files) {
      const from = path.join(root, entry);
      if (existsSync(from) && entry !== 'dist/') cpSync(from, path.join(stage, entry), { recursive: true });
    }
    cpSync(path.join(root, 'package.json'), path.join(stage, 'package.json'));
    // What `prepack` (npm run build) does, into the staging folder.
    run(
      process.execPath,
      [
        path.join(root, 'node_modules/typescript/bin/tsc'),
        '-p',
        'tsconfig.build.json',
        '--outDir',
        path.join(stage, 'dist'),
      ],
      root,
    );
    run(process.execPath, ['scripts/copy-lua.mjs', path.join(stage, 'dist')], root);

    const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], stage);
    const report = (
      JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
    )[0]!;
    const filename = report.filename;
    const paths = report.files.map((f) => f.path);
    for (const wanted of [
      'bin/keyguard.js',
      'dist/main.js',
      'dist/events/schema.d.ts',
      'dist/state/commands/save-state-1.lua',
      'config/detection.json',
      'schemas/alert.schema.json',
      'LICENSE',
      'README.md',
    ])
      expect(paths, wanted).toContain(wanted);
    expect(paths.filter((p: string) => /^(src|test|scripts|\.ci|examples)\//.test(p))).toEqual([]);

    const app = path.join(tmp, 'app');
    mkdirSync(app);
    appWithLockfile(app, path.join(tmp, filename));
    const installed = run(
      'npm',
      ['ci', '--offline', '--omit=dev', '--no-audit', '--no-fund', '--ignore-scripts'],
      app,
    );
    expect(existsSync(path.join(app, 'node_modules/keyguard/dist/main.js'))).toBe(true);
    // Production dependencies only: no TypeScript runtime, no test tools.
    for (const dev of ['tsx', 'vitest', 'typescript'])
      expect(existsSync(path.join(app, 'node_modules', dev)), dev).toBe(false);

    const keyguard = path.join(app, 'node_modules/.bin/keyguard');
    const help = run(keyguard, ['--help'], app);
    expect(help.stdout).toMatch(/keyguard replay/);
    const events = path.join(tmp, 'events.jsonl');
    run(keyguard, ['simulate', '--days', '2', '--accounts', '30', '--victims', '3', '--out', events], app);
    const replay = run(keyguard, ['replay', events], app);
    const alerts = replay.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { schemaVersion: number; recommendation: string });
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts.every((a) => a.schemaVersion === 1)).toBe(true);
    expect(alerts.some((a) => a.recommendation === 'revoke_key')).toBe(true);

    // The exported contract, as a consumer imports it.
    const imported = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const c = await import('keyguard'); const r = await import('keyguard/records'); console.log(typeof c.alertSchema.safeParse, r.RECORD_SCHEMA_VERSION)",
      ],
      app,
    );
    expect(imported.stdout.trim()).toBe('function 1');
    console.log(
      `[package] npm ci (offline, production only) ${Math.round(installed.ms)} ms; keyguard --help ${Math.round(help.ms)} ms from the installed package`,
    );
  }, 300_000);
});
