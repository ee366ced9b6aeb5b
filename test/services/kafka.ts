import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { requireTool } from './missing-tool.js';
import { freePort, waitForPort } from './ports.js';

/** The broker version the tests run against; the pom beside this file resolves its jars. */
export const KAFKA_VERSION = process.env.KEYGUARD_KAFKA_VERSION ?? '3.9.1';

const here = path.dirname(fileURLToPath(import.meta.url));
const cacheDir = path.join(os.homedir(), '.cache', 'keyguard');

export interface LocalKafka {
  brokers: string[];
  /** The version the broker printed at start-up ("Kafka version: …"). */
  version: string;
  logFile: string;
  stop(): Promise<void>;
  /** Stops and starts the same broker (same port, same data) for outage tests. */
  restart(): Promise<void>;
}

/** Resolves kafka_2.13 and an slf4j binding from Maven Central into ~/.m2 once; returns the classpath. */
export function kafkaClasspath(): string {
  const cpFile = path.join(cacheDir, `kafka-${KAFKA_VERSION}.classpath`);
  if (existsSync(cpFile)) {
    const cp = readFileSync(cpFile, 'utf8').trim();
    if (cp.split(':').every((jar) => existsSync(jar))) return cp;
  }
  requireTool('java', '-version', 'apt-get install -y openjdk-17-jre-headless');
  requireTool('mvn', '-version', 'apt-get install -y maven');
  mkdirSync(cacheDir, { recursive: true });
  const mvn = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      path.join(here, 'kafka-pom.xml'),
      `-Dkafka.version=${KAFKA_VERSION}`,
      'dependency:build-classpath',
      `-Dmdep.outputFile=${cpFile}`,
    ],
    { encoding: 'utf8' },
  );
  if (mvn.status !== 0) {
    throw new Error(
      `Maven could not resolve org.apache.kafka:kafka_2.13:${KAFKA_VERSION}:\n${mvn.stdout}\n${mvn.stderr}`,
    );
  }
  return readFileSync(cpFile, 'utf8').trim();
}

const LOG4J = `log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka.common.utils.AppInfoParser=INFO
log4j.logger.kafka.server.KafkaRaftServer=INFO
`;

interface NodeSetting {
  dir: string;
  nodeId: number;
  brokerPort: number;
  controllerPort: number;
  /** The controller quorum: `id@host:port,…`. */
  voters: string;
  /** Copies of the internal topics (offsets, transactions): the number of brokers. */
  replicas: number;
}

function serverProperties(n: NodeSetting): string {
  return `process.roles=broker,controller
node.id=${n.nodeId}
controller.quorum.voters=${n.voters}
listeners=PLAINTEXT://127.0.0.1:${n.brokerPort},CONTROLLER://127.0.0.1:${n.controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${n.brokerPort}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${path.join(n.dir, 'data')}
num.partitions=1
offsets.topic.replication.factor=${n.replicas}
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=${n.replicas}
transaction.state.log.min.isr=${Math.min(2, n.replicas)}
min.insync.replicas=${n.replicas >= 3 ? 2 : 1}
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.flush.interval.messages=100000
${
  n.replicas > 1
    ? // A killed broker is fenced (its partitions led elsewhere) after 3 s instead of 9.
      'broker.session.timeout.ms=3000\nbroker.heartbeat.interval.ms=500\n'
    : ''
}`;
}

function java(cp: string, dir: string, args: string[]): ChildProcess {
  return spawn(
    'java',
    [
      '-Xmx512m',
      '-Xms256m',
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${path.join(dir, 'log4j.properties')}`,
      '-cp',
      cp,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

/** Waits until the brokers answer and the cluster lists `count` of them. */
async function readyBroker(brokers: string[], timeoutMs: number, count = 1): Promise<void> {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING, clientId: 'keyguard-harness' }).admin();
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      await admin.disconnect();
      if (cluster.brokers.length >= count) return;
      lastError = `${cluster.brokers.length} of ${count} brokers registered`;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await admin.disconnect().catch(() => {});
  throw new Error(`broker ${brokers.join(',')} not ready within ${timeoutMs} ms: ${String(lastError)}`);
}

/** Tries three times on fresh ports and folders (a port taken between probe and bind is the usual failure). */
async function withFreshPorts<T>(start: (dir: string, cp: string) => Promise<T>): Promise<T> {
  const cp = kafkaClasspath();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'keyguard-kafka-'));
    try {
      return await start(dir, cp);
    } catch (err) {
      lastError = err;
      rmSync(dir, { recursive: true, force: true });
    }
  }
  throw lastError;
}

/**
 * Starts a real single-node Apache Kafka (KRaft, combined broker+controller) on 127.0.0.1 with the
 * jars from Maven Central. Used where no Docker engine exists (CI, these machines).
 */
export function startLocalKafka(): Promise<LocalKafka> {
  return withFreshPorts(async (dir, cp) => {
    const [node] = await startNodes(dir, cp, 1);
    const broker = node!;
    return {
      brokers: [broker.address],
      get version() {
        return broker.version;
      },
      logFile: broker.logFile,
      async stop() {
        await broker.stop();
        rmSync(dir, { recursive: true, force: true });
      },
      async restart() {
        await broker.stop();
        await broker.start();
      },
    };
  });
}

export interface LocalKafkaCluster {
  brokers: string[];
  nodes: KafkaNode[];
  stop(): Promise<void>;
}

/**
 * A real three-node Apache Kafka cluster (KRaft; every node a broker and a voter of the controller
 * quorum), internal topics with three copies and `min.insync.replicas=2`.
 */
export function startLocalKafkaCluster(count = 3): Promise<LocalKafkaCluster> {
  return withFreshPorts(async (dir, cp) => {
    const nodes = await startNodes(dir, cp, count);
    return {
      brokers: nodes.map((n) => n.address),
      nodes,
      async stop() {
        await Promise.all(nodes.map((n) => n.stop()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}

export interface KafkaNode {
  address: string;
  version: string;
  logFile: string;
  /** SIGKILL: a crash, no controlled shutdown. */
  kill(): Promise<void>;
  /** SIGTERM (SIGKILL after 15 s). */
  stop(): Promise<void>;
  /** Starts the node again with its data, and waits until it answers. */
  start(): Promise<void>;
}

async function startNodes(dir: string, cp: string, count: number): Promise<KafkaNode[]> {
  const ports = [];
  for (let i = 0; i < count; i++) ports.push({ broker: await freePort(), controller: await freePort() });
  const voters = ports.map((p, i) => `${i + 1}@127.0.0.1:${p.controller}`).join(',');
  writeFileSync(path.join(dir, 'log4j.properties'), LOG4J);
  const clusterId = randomBytes(16).toString('base64url');
  const nodes = ports.map((p, i) => {
    const nodeDir = count === 1 ? dir : path.join(dir, `node-${i + 1}`);
    mkdirSync(nodeDir, { recursive: true });
    const props = path.join(nodeDir, 'server.properties');
    writeFileSync(
      props,
      serverProperties({
        dir: nodeDir,
        nodeId: i + 1,
        brokerPort: p.broker,
        controllerPort: p.controller,
        voters,
        replicas: count,
      }),
    );
    const format = spawnSync(
      'java',
      [
        `-Dlog4j.configuration=file:${path.join(dir, 'log4j.properties')}`,
        '-cp',
        cp,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        props,
      ],
      { encoding: 'utf8' },
    );
    if (format.status !== 0)
      throw new Error(`kafka storage format failed:\n${format.stdout}\n${format.stderr}`);
    return new BrokerProcess(cp, dir, props, path.join(nodeDir, 'broker.log'), `127.0.0.1:${p.broker}`);
  });
  const all = nodes.map((n) => n.address);
  try {
    // The nodes of a quorum wait for each other: launch all, then wait for each.
    await Promise.all(nodes.map((n) => n.start(all, count)));
  } catch (err) {
    await Promise.all(nodes.map((n) => n.kill()));
    throw err;
  }
  return nodes;
}

class BrokerProcess implements KafkaNode {
  version = 'unknown';
  private child?: ChildProcess;

  constructor(
    private readonly cp: string,
    private readonly confDir: string,
    private readonly props: string,
    readonly logFile: string,
    readonly address: string,
  ) {}

  async start(readyVia: string[] = [this.address], count = 1): Promise<void> {
    const child = java(this.cp, this.confDir, ['kafka.Kafka', this.props]);
    this.child = child;
    let log = '';
    const onData = (d: Buffer) => {
      const text = d.toString();
      log += text;
      writeFileSync(this.logFile, text, { flag: 'a' });
      const m = /Kafka version: (\S+)/.exec(text);
      if (m?.[1]) this.version = m[1];
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const port = Number(this.address.split(':')[1]);
    try {
      await waitForPort('127.0.0.1', port, 60_000, () => child.exitCode === null);
      await readyBroker(readyVia, 60_000, count);
    } catch (err) {
      child.kill('SIGKILL');
      throw new Error(`Kafka did not start: ${(err as Error).message}\n${log.slice(-3000)}`);
    }
  }

  kill(): Promise<void> {
    return this.ended('SIGKILL');
  }

  stop(): Promise<void> {
    return this.ended('SIGTERM');
  }

  private ended(signal: NodeJS.Signals): Promise<void> {
    const c = this.child;
    return new Promise<void>((resolve) => {
      if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
      const timer = setTimeout(() => c.kill('SIGKILL'), 15_000);
      c.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      c.kill(signal);
    });
  }
}
