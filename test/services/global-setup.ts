import type { TestProject } from 'vitest/node';
import { startServices } from './harness.js';
import { MissingToolError } from './missing-tool.js';
import { type LocalRedisCluster, startLocalRedisCluster } from './redis-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
    redisUrl: string;
    /** A Redis Cluster (three masters, three replicas) for the cluster variants of the store suites. */
    redisClusterUrl: string;
    kafkaVersion: string;
  }
}

/** Starts real Kafka and Redis once for the integration tests and hands their addresses over. */
export default async function setup(project: TestProject) {
  const started = Date.now();
  let services: Awaited<ReturnType<typeof startServices>>;
  let cluster: LocalRedisCluster | undefined;
  try {
    const [single, clustered] = await Promise.allSettled([
      startServices(),
      process.env.REDIS_CLUSTER_URL ? undefined : startLocalRedisCluster(),
    ]);
    if (single.status === 'rejected' || clustered.status === 'rejected') {
      // Stop whichever did start before reporting the other's failure.
      await Promise.all([
        single.status === 'fulfilled' && single.value.stop(),
        clustered.status === 'fulfilled' && clustered.value?.stop(),
      ]);
      throw single.status === 'rejected' ? single.reason : (clustered as PromiseRejectedResult).reason;
    }
    services = single.value;
    cluster = clustered.value;
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
      `Redis at ${services.redisUrl} (${services.source}), Redis Cluster at ${cluster?.url ?? process.env.REDIS_CLUSTER_URL} ` +
      `(ready in ${Date.now() - started} ms)`,
  );
  project.provide('kafkaBrokers', services.kafkaBrokers);
  project.provide('redisUrl', services.redisUrl);
  project.provide('redisClusterUrl', cluster?.url ?? (process.env.REDIS_CLUSTER_URL as string));
  project.provide('kafkaVersion', services.kafkaVersion);
  return async () => {
    await Promise.all([services.stop(), cluster?.stop()]);
  };
}
