/**
 * `npm run services`: starts a real Kafka broker and Redis for a developer without Docker, prints the
 * environment variables the worker reads, and stops both on Ctrl-C.
 */
import { startServices } from '../test/services/harness.js';
import { MissingToolError } from '../test/services/missing-tool.js';

try {
  const services = await startServices();
  console.log(`Apache Kafka ${services.kafkaVersion} and Redis are up (${services.source}). Use:`);
  console.log(`export KAFKA_BROKERS=${services.kafkaBrokers.join(',')}`);
  console.log(`export REDIS_URL=${services.redisUrl}`);
  const shutdown = async () => {
    await services.stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
} catch (err) {
  if (err instanceof MissingToolError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
