import { Cluster, Redis } from 'ioredis';
import { ConfigError } from '../errors.js';
import { defineScriptCommands, type ScriptCommands } from './commands/index.js';

/** Told of every connection error (refused, reset, reconnect failed): log it and count it. */
export type RedisErrorListener = (err: Error) => void;

/**
 * A command without a reply for this long fails (and its batch is retried) instead of waiting
 * forever: a connection half-open after a crash or a failover must not wedge a partition.
 */
const COMMAND_TIMEOUT_MS = 15_000;

/** One Redis server or a Redis Cluster, with keyguard's scripts defined on it. */
export type RedisClient = (Redis | Cluster) & ScriptCommands;

/** Where Redis is: `redis://…` (one server) or `redis+cluster://host:port,host:port` (a cluster). */
export interface RedisTarget {
  cluster: boolean;
  tls: boolean;
  nodes: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
}

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)\/?$/;

/**
 * Reads a Redis connection string. A cluster is named by its seed nodes, comma separated, in one
 * `redis+cluster://[user:password@]host:port,host:port` (`rediss+cluster://` for TLS): the client
 * discovers the rest of the cluster from any of them. Everything else is a plain Redis URL.
 */
export function parseRedisTarget(url: string): RedisTarget {
  if (!/^rediss?\+cluster:/.test(url)) {
    if (!/^rediss?:\/\//.test(url) || !URL.canParse(url))
      throw new ConfigError(
        `cannot read the Redis address "${url}": expected redis://host:port or redis+cluster://host:port,…`,
      );
    const u = new URL(url);
    return {
      cluster: false,
      tls: u.protocol === 'rediss:',
      nodes: [{ host: u.hostname, port: Number(u.port || 6379) }],
    };
  }
  const m = CLUSTER_URL.exec(url);
  if (!m)
    throw new ConfigError(
      `cannot read the Redis Cluster address: expected redis+cluster://host:port[,host:port…]`,
    );
  const nodes = m[4]!.split(',').map((node) => {
    const at = node.lastIndexOf(':');
    const port = Number(node.slice(at + 1));
    if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535)
      throw new ConfigError(`Redis Cluster seed node "${node}" is not host:port`);
    return { host: node.slice(0, at), port };
  });
  return {
    cluster: true,
    tls: m[1] === 'rediss',
    nodes,
    ...(m[2] ? { username: decodeURIComponent(m[2]) } : {}),
    ...(m[3] !== undefined ? { password: decodeURIComponent(m[3]) } : {}),
  };
}

/**
 * The processes' Redis client. A command fails after two reconnection attempts instead of waiting
 * in ioredis' queue: the callers retry with backoff (and heartbeat their Kafka group meanwhile),
 * count the failures, and never skip. Every client has an error listener: without one ioredis
 * prints raw "Unhandled error event" stack traces between the JSON log lines.
 *
 * On a cluster every command goes to the master of its key's slot (never a replica: a baseline read
 * must see the last write), a failover is followed by refreshing the slot map, and the batches'
 * pipelines are split per node by `execPerNode`.
 */
export function redisConnection(url: string, onError: RedisErrorListener = () => {}): RedisClient {
  const target = parseRedisTarget(url);
  let redis: Redis | Cluster;
  if (target.cluster) {
    redis = new Cluster(target.nodes, {
      scaleReads: 'master',
      redisOptions: {
        maxRetriesPerRequest: 2,
        commandTimeout: COMMAND_TIMEOUT_MS,
        ...(target.username ? { username: target.username } : {}),
        ...(target.password !== undefined ? { password: target.password } : {}),
        ...(target.tls ? { tls: {} } : {}),
      },
      // During a failover the old master refuses connections until a replica is promoted and the
      // slot map says so: commands wait a little, then fail to the caller's retry.
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      retryDelayOnTryAgain: 200,
      slotsRefreshTimeout: 2000,
      clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
    });
  } else {
    redis = new Redis(url, {
      lazyConnect: false,
      maxRetriesPerRequest: 2,
      commandTimeout: COMMAND_TIMEOUT_MS,
    });
  }
  redis.on('error', onError);
  return defineScriptCommands(redis);
}
