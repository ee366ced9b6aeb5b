import { Redis } from 'ioredis';
import { defineScriptCommands, type ScriptCommands } from './commands/index.js';

/**
 * The processes' Redis client. A command fails after two reconnection attempts instead of waiting
 * in ioredis' queue: the callers retry with backoff (and heartbeat their Kafka group meanwhile),
 * count the failures, and never skip.
 */
export function redisConnection(url: string): Redis & ScriptCommands {
  return defineScriptCommands(new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2 }));
}
