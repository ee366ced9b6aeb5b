import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireTool } from './missing-tool.js';
import { freePort, waitForPort } from './ports.js';

export interface LocalRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Stops the server (an outage); `start` brings it back on the same port. */
  kill(): Promise<void>;
  start(): Promise<void>;
}

/**
 * Redis as production needs it (docs/streaming-worker.md: State durability): an append-only file fsynced every
 * second, in `dataDir` (a fresh temporary folder when none is given). `dataDir: null`: no
 * persistence at all, for the drill that proves a lost state is noticed.
 */
function launch(port: number, dataDir: string | null): ChildProcess {
  const persistence =
    dataDir === null
      ? ['--save', '', '--appendonly', 'no']
      : ['--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', dataDir, '--save', ''];
  return spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', ...persistence, '--daemonize', 'no'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

async function started(port: number, dataDir: string | null): Promise<ChildProcess> {
  const child = launch(port, dataDir);
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  try {
    await waitForPort('127.0.0.1', port, 10_000, () => child.exitCode === null);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(
      `redis-server did not start on port ${port}: ${(err as Error).message}\n${output.slice(-2000)}`,
    );
  }
  return child;
}

function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/**
 * Starts redis-server (Debian package) on a free port, with an append-only file in `dataDir` (a
 * temporary folder by default) that survives `kill` + `start`; `dataDir: null` runs it without
 * persistence (a restart empties it).
 */
export async function startLocalRedis(opts: { dataDir?: string | null } = {}): Promise<LocalRedis> {
  requireTool('redis-server', '--version', 'apt-get install -y redis-server');
  const dataDir =
    opts.dataDir === undefined ? mkdtempSync(path.join(os.tmpdir(), 'keyguard-redis-')) : opts.dataDir;
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      let child = await started(port, dataDir);
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        stop: () => stopped(child),
        kill: () => stopped(child),
        async start() {
          child = await started(port, dataDir);
        },
      };
    } catch (err) {
      lastError = err; // most likely the port was taken between probe and bind: try another
    }
  }
  throw lastError;
}
