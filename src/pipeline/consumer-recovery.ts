/**
 * kafkajs restarts a crashed consumer only after retriable errors. After a non-retriable one (the
 * group coordinator not found while a broker restarts, for example) the consumer stays stopped and
 * the process would sit idle, healthy-looking, consuming nothing. This restarts it — connect,
 * subscribe, run — with backoff, for as long as the owner is running. Processing resumes from the
 * committed offsets, so nothing is skipped.
 */
import type { Consumer } from 'kafkajs';
import type { Logger } from '../logger.js';

export function restartAfterFatalCrash(
  consumer: Consumer,
  start: () => Promise<void>,
  isRunning: () => boolean,
  log: Logger,
): void {
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart || !isRunning()) return;
    log.error({ err: payload.error?.message }, 'consumer stopped after a non-retriable error: restarting it');
    let delay = 1000;
    const again = async () => {
      if (!isRunning()) return;
      try {
        await start();
        log.info('consumer restarted');
      } catch (err) {
        delay = Math.min(delay * 2, 30_000);
        log.error(
          { err: (err as Error).message, retryInMs: delay },
          'consumer restart failed, will try again',
        );
        setTimeout(again, delay).unref();
      }
    };
    setTimeout(again, delay).unref();
  });
}
