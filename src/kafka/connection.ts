import { hostname } from 'node:os';
import { Kafka, logLevel } from 'kafkajs';
import type { RuntimeEnv } from '../config/runtime.js';
import type { Logger } from '../logger.js';

const KAFKA_LOG_LEVEL: Record<string, logLevel> = {
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

/** The process's Kafka client, logging through pino. */
export function kafkaConnection(brokers: string, env: RuntimeEnv, log: Logger): Kafka {
  const kafkaLog = log.child({ module: 'kafkajs' });
  return new Kafka({
    clientId: `keyguard-${hostname()}-${process.pid}`,
    brokers: brokers.split(','),
    logLevel: KAFKA_LOG_LEVEL[env.LOG_LEVEL] ?? logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...rest } = entry;
        if (level <= logLevel.ERROR) kafkaLog.error(rest, message);
        else if (level <= logLevel.WARN) kafkaLog.warn(rest, message);
        else kafkaLog.debug(rest, message);
      },
    retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5000 },
  });
}

/**
 * A consumer group member's liveness settings: a member that stops heartbeating (SIGKILL, a hung
 * host) is declared dead after `sessionTimeout` and its partitions move; the survivors are
 * blocked in the rebalance until then. Heartbeats every second (at most a sixth of the timeout),
 * so a short timeout does not drop a member that is merely busy between heartbeats.
 */
export function groupLiveness(sessionTimeoutMs: number): {
  sessionTimeout: number;
  heartbeatInterval: number;
} {
  return {
    sessionTimeout: sessionTimeoutMs,
    heartbeatInterval: Math.max(500, Math.min(1000, Math.floor(sessionTimeoutMs / 6))),
  };
}
