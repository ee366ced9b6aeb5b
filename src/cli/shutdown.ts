import type { Logger } from '../logger.js';

/** SIGTERM: finish the work in flight, commit, exit; past this, exit anyway. */
export const SHUTDOWN_DEADLINE_MS = 10_000;

/**
 * Resolves with the exit code once SIGTERM/SIGINT arrived and `stop` finished (0), failed (1), or
 * overran the deadline (1).
 */
export function untilSignalled(
  log: Logger,
  stop: () => Promise<unknown>,
  stoppedDetail: () => object,
): Promise<number> {
  let stopping = false;
  return new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping: finishing the work in flight');
      const force = setTimeout(() => {
        log.error('shutdown deadline passed, exiting');
        resolve(1);
      }, SHUTDOWN_DEADLINE_MS);
      force.unref();
      stop().then(
        () => {
          log.info(stoppedDetail(), 'stopped');
          resolve(0);
        },
        (err) => {
          log.error({ err: (err as Error).message }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}
