import { Redis } from 'ioredis';
import { defineScriptCommands, type ScriptCommands } from './commands/index.js';

/** Told of every connection error (refused, reset, reconnect failed): log it and count it. */
export type RedisErrorListener = (err: Error) => void;

/**
 * The processes' Redis client. A command fails after two reconnection attempts instead of waiting
 * in ioredis' queue: the callers retry with backoff (and heartbeat their Kafka group meanwhile),
 * count the failures, and never skip. Every client has an error listener: without one ioredis
 * prints raw "Unhandled error event" stack traces between the JSON log lines.
 */
export function redisConnection(url: string, onError: RedisErrorListener = () => {}): Redis & ScriptCommands {
  const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2 });
  redis.on('error', onError);
  return defineScriptCommands(redis);
}
