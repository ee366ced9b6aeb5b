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

function serverProperties(dir: string, brokerPort: number, controllerPort: number): string {
  return `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${brokerPort}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${path.join(dir, 'data')}
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.flush.interval.messages=100000
`;
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

async function readyBroker(brokers: string[], timeoutMs: number): Promise<void> {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING, clientId: 'keyguard-harness' }).admin();
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      await admin.disconnect();
      if (cluster.brokers.length > 0) return;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  await admin.disconnect().catch(() => {});
  throw new Error(`broker ${brokers.join(',')} not ready within ${timeoutMs} ms: ${String(lastError)}`);
}

/**
 * Starts a real single-node Apache Kafka (KRaft, combined broker+controller) on 127.0.0.1 with the
 * jars from Maven Central. Used where no Docker engine exists (CI, these machines).
 */
export async function startLocalKafka(): Promise<LocalKafka> {
  const cp = kafkaClasspath();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'keyguard-kafka-'));
    try {
      return await startIn(dir, cp);
    } catch (err) {
      lastError = err; // a port taken between probe and bind is the usual cause: try fresh ports
      rmSync(dir, { recursive: true, force: true });
    }
  }
  throw lastError;
}

async function startIn(dir: string, cp: string): Promise<LocalKafka> {
  const brokerPort = await freePort();
  const controllerPort = await freePort();
  const props = path.join(dir, 'server.properties');
  writeFileSync(props, serverProperties(dir, brokerPort, controllerPort));
  writeFileSync(path.join(dir, 'log4j.properties'), LOG4J);
  const clusterId = randomBytes(16).toString('base64url');
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

  const logFile = path.join(dir, 'broker.log');
  let version = 'unknown';
  const launch = async (): Promise<ChildProcess> => {
    const child = java(cp, dir, ['kafka.Kafka', props]);
    let log = '';
    const onData = (d: Buffer) => {
      const text = d.toString();
      log += text;
      writeFileSync(logFile, text, { flag: 'a' });
      const m = /Kafka version: (\S+)/.exec(text);
      if (m?.[1]) version = m[1];
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    try {
      await waitForPort('127.0.0.1', brokerPort, 60_000, () => child.exitCode === null);
      await readyBroker([`127.0.0.1:${brokerPort}`], 60_000);
    } catch (err) {
      child.kill('SIGKILL');
      throw new Error(`Kafka did not start: ${(err as Error).message}\n${log.slice(-3000)}`);
    }
    return child;
  };
  const stop = (c: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (c.exitCode !== null) return resolve();
      const timer = setTimeout(() => c.kill('SIGKILL'), 15_000);
      c.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      c.kill('SIGTERM');
    });

  let child = await launch();
  return {
    brokers: [`127.0.0.1:${brokerPort}`],
    get version() {
      return version;
    },
    logFile,
    async stop() {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await stop(child);
      child = await launch();
    },
  };
}
