/**
 * The producer a consumer stage publishes with: idempotent, acks = all, sends bounded by
 * `KEYGUARD_PRODUCER_MAX_BATCH_BYTES`, replaced when a failed send leaves it unusable.
 */
import type { Kafka } from 'kafkajs';
import type { RuntimeEnv } from '../config/runtime.js';
import { AckedProducer } from '../kafka/acked-producer.js';
import type { Logger } from '../logger.js';

export function stageProducer(
  kafka: Kafka,
  env: Pick<RuntimeEnv, 'KEYGUARD_PRODUCER_MAX_BATCH_BYTES'>,
  log: Logger,
): AckedProducer {
  return new AckedProducer(kafka, env.KEYGUARD_PRODUCER_MAX_BATCH_BYTES, log.child({ module: 'producer' }));
}
