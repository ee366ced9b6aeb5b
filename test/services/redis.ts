import { type ChildProcess, spawn } from 'node:child_process';
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

/** `dataDir`: keep data across restarts (append-only file, fsync on every write), for outage tests. */
function launch(port: number, dataDir?: string): ChildProcess {
  const persistence = dataDir
    ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dataDir, '--save', '']
    : ['--save', '', '--appendonly', 'no'];
  return spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', ...persistence, '--daemonize', 'no'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

async function started(port: number, dataDir?: string): Promise<ChildProcess> {
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

/** Starts redis-server (Debian package) on a free port; persistence off unless a data folder is given. */
export async function startLocalRedis(opts: { dataDir?: string } = {}): Promise<LocalRedis> {
  requireTool('redis-server', '--version', 'apt-get install -y redis-server');
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      let child = await started(port, opts.dataDir);
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        stop: () => stopped(child),
        kill: () => stopped(child),
        async start() {
          child = await started(port, opts.dataDir);
        },
      };
    } catch (err) {
      lastError = err; // most likely the port was taken between probe and bind: try another
    }
  }
  throw lastError;
}
