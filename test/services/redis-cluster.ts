import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireTool } from './missing-tool.js';
import { freePort, waitForPort } from './ports.js';

export interface LocalRedisCluster {
  /** `redis+cluster://` with every node as a seed. */
  url: string;
  ports: number[];
  /** The port of the master serving `slot` now (asked of a live node). */
  masterOf(slot: number): number;
  /** SIGKILL: a crash, no shutdown save. */
  kill(port: number): Promise<void>;
  /** Starts a killed node again on its port with its data: it rejoins (as a replica after a failover). */
  start(port: number): Promise<void>;
  /**
   * Waits until every live node reports `cluster_state:ok`, live masters serve every slot, and each
   * of them has a replica online.
   */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** redis-cli against one node; returns stdout (throws with stderr on failure). */
function cli(port: number, ...args: string[]): string {
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  if (r.status !== 0) throw new Error(`redis-cli -p ${port} ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/**
 * A real Redis Cluster from the Debian `redis-server`: `masters` masters with one replica each, on
 * free ports of 127.0.0.1, append-only files fsynced every second, created with
 * `redis-cli --cluster create`. `cluster-node-timeout` is short (1 s) so a killed master's replica
 * is promoted within a few seconds.
 */
export async function startLocalRedisCluster(opts: { masters?: number } = {}): Promise<LocalRedisCluster> {
  requireTool('redis-server', '--version', 'apt-get install -y redis-server');
  requireTool('redis-cli', '--version', 'apt-get install -y redis-tools');
  const masters = opts.masters ?? 3;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keyguard-redis-cluster-'));
  const ports: number[] = [];
  while (ports.length < masters * 2) {
    const p = await freePort();
    if (!ports.includes(p) && !ports.includes(p - 10_000) && p + 10_000 < 65_536) ports.push(p);
  }
  const children = new Map<number, ChildProcess>();
  const launch = async (port: number) => {
    const nodeDir = path.join(dir, String(port));
    mkdirSync(nodeDir, { recursive: true });
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-node-timeout',
        '1000',
        '--dir',
        nodeDir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--save',
        '',
        '--daemonize',
        'no',
      ],
      { stdio: 'ignore' },
    );
    children.set(port, child);
    await waitForPort('127.0.0.1', port, 10_000, () => child.exitCode === null);
  };
  const stopAll = async () => {
    await Promise.all([...children.values()].map((c) => killed(c, 'SIGTERM')));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(ports.map(launch));
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create failed:\n${create.stdout}\n${create.stderr}`);
  } catch (err) {
    await stopAll();
    throw err;
  }

  const live = () => ports.filter((p) => children.get(p)?.exitCode === null);
  const cluster: LocalRedisCluster = {
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    ports,
    masterOf(slot) {
      for (const port of live()) {
        try {
          for (const line of cli(port, 'cluster', 'nodes').trim().split('\n')) {
            const f = line.split(' ');
            if (!f[2]?.includes('master') || f[2].includes('fail')) continue;
            for (const range of f.slice(8)) {
              const [from, to = from] = range.split('-').map(Number);
              if (slot >= from! && slot <= to!) return Number(f[1]!.split(':')[1]!.split('@')[0]);
            }
          }
        } catch {
          // a node not answering: ask the next
        }
      }
      throw new Error(`no live master serves slot ${slot}`);
    },
    async kill(port) {
      const child = children.get(port);
      if (child) await killed(child, 'SIGKILL');
    },
    async start(port) {
      await launch(port);
    },
    async waitHealthy(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      while (Date.now() < deadline) {
        try {
          const nodes = live();
          const ok = nodes.every((p) => cli(p, 'cluster', 'info').includes('cluster_state:ok'));
          const masters = cli(nodes[0]!, 'cluster', 'nodes')
            .trim()
            .split('\n')
            .filter(
              (l) => / master /.test(` ${l.split(' ')[2]?.replace(/,/g, ' ')} `) && !l.includes('fail'),
            );
          const served = masters.reduce(
            (n, l) =>
              n +
              l
                .split(' ')
                .slice(8)
                .reduce((m, r) => {
                  const [a, b = a] = r.split('-').map(Number);
                  return m + (b! - a! + 1);
                }, 0),
            0,
          );
          // Every master has a replica in sync: a write can be WAITed for.
          const replicated = masters.every((l) => {
            const port = Number(l.split(' ')[1]!.split(':')[1]!.split('@')[0]);
            return /slave\d+:[^\n]*state=online/.test(cli(port, 'info', 'replication'));
          });
          if (ok && served === 16384 && replicated) return;
          last = `state ok on every node: ${ok}; slots served by live masters: ${served}; every master replicated: ${replicated}`;
        } catch (err) {
          last = (err as Error).message;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`Redis Cluster not healthy within ${timeoutMs} ms: ${last}`);
    },
    stop: stopAll,
  };
  await cluster.waitHealthy(60_000);
  return cluster;
}

function killed(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
