import { existsSync } from 'node:fs';
import { KAFKA_VERSION, type LocalKafka, startLocalKafka } from './kafka.js';
import { type LocalRedis, startLocalRedis } from './redis.js';

/** Where the tests' (or a developer's) Kafka and Redis are, and how they were obtained. */
export interface Services {
  kafkaBrokers: string[];
  redisUrl: string;
  kafkaVersion: string;
  source: 'environment' | 'testcontainers' | 'local-processes';
  /** Present for local processes: lets outage tests stop and start the real services. */
  local?: { kafka?: LocalKafka; redis?: LocalRedis };
  stop(): Promise<void>;
}

function dockerEngineLikely(): boolean {
  if (process.env.KEYGUARD_NO_DOCKER === '1') return false;
  return Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}

async function fromTestcontainers(): Promise<Services | undefined> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
  } catch {
    return undefined; // no engine answers: fall back to local processes
  }
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const { RedisContainer } = await import('@testcontainers/redis');
  // Confluent Platform 7.9 ships Apache Kafka 3.9.
  const kafka = await new KafkaContainer('confluentinc/cp-kafka:7.9.1')
    .withKraft()
    .withExposedPorts(9093)
    .start();
  const redis = await new RedisContainer('redis:7-alpine').start();
  return {
    kafkaBrokers: [`${kafka.getHost()}:${kafka.getMappedPort(9093)}`],
    redisUrl: redis.getConnectionUrl(),
    kafkaVersion: '3.9 (confluentinc/cp-kafka:7.9.1)',
    source: 'testcontainers',
    async stop() {
      await Promise.all([kafka.stop(), redis.stop()]);
    },
  };
}

/**
 * Resolves Kafka and Redis in this order: KAFKA_BROKERS / REDIS_URL from the environment, a Docker
 * engine through testcontainers, else local processes (Kafka from Maven Central jars, redis-server).
 */
export async function startServices(): Promise<Services> {
  const envBrokers = process.env.KAFKA_BROKERS;
  const envRedis = process.env.REDIS_URL;
  if (envBrokers && envRedis) {
    return {
      kafkaBrokers: envBrokers.split(',').map((b) => b.trim()),
      redisUrl: envRedis,
      kafkaVersion: 'external',
      source: 'environment',
      stop: async () => {},
    };
  }
  if (!envBrokers && !envRedis && dockerEngineLikely()) {
    const viaDocker = await fromTestcontainers();
    if (viaDocker) return viaDocker;
  }
  const [kafka, redis] = await Promise.all([
    envBrokers ? undefined : startLocalKafka(),
    envRedis ? undefined : startLocalRedis(),
  ]);
  return {
    kafkaBrokers: envBrokers ? envBrokers.split(',') : (kafka as LocalKafka).brokers,
    redisUrl: envRedis ?? (redis as LocalRedis).url,
    kafkaVersion: kafka ? kafka.version : 'external',
    source: 'local-processes',
    local: { kafka, redis },
    async stop() {
      await Promise.all([kafka?.stop(), redis?.stop()]);
    },
  };
}

export { KAFKA_VERSION };
