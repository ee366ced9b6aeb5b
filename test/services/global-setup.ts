import type { TestProject } from 'vitest/node';
import { startServices } from './harness.js';
import { MissingToolError } from './missing-tool.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
    redisUrl: string;
    kafkaVersion: string;
  }
}

/** Starts real Kafka and Redis once for the integration tests and hands their addresses over. */
export default async function setup(project: TestProject) {
  const started = Date.now();
  let services: Awaited<ReturnType<typeof startServices>>;
  try {
    services = await startServices();
  } catch (err) {
    if (err instanceof MissingToolError) {
      // One line saying what to install, not a stack trace.
      console.error(`\nkeyguard test services: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  console.log(
    `[services] Apache Kafka ${services.kafkaVersion} at ${services.kafkaBrokers.join(',')}, ` +
      `Redis at ${services.redisUrl} (${services.source}, ready in ${Date.now() - started} ms)`,
  );
  project.provide('kafkaBrokers', services.kafkaBrokers);
  project.provide('redisUrl', services.redisUrl);
  project.provide('kafkaVersion', services.kafkaVersion);
  return async () => {
    await services.stop();
  };
}
