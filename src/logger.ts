import { type Logger, pino } from 'pino';
import { SECRET_FIELDS } from './secret-fields.js';

/** Anything that could be a secret is redacted wherever it appears in a log line. */
export const REDACT_PATHS = [
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]),
  'secrets',
  '*.secrets',
  '*.*.secrets',
  'headers.authorization',
  'headers["webhook-signature"]',
  '*.headers.authorization',
];

/** Logs go to stderr so that stdout stays free for alert lines (replay composes in pipelines). */
export function createLogger(level: string): Logger {
  return pino(
    { level, base: { service: 'keyguard' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    pino.destination(2),
  );
}
export type { Logger };
