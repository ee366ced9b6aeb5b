import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';

/**
 * Reads a JSON configuration file (`what` names it in errors). A top-level `$comment` is for
 * humans and is dropped, so the schemas stay strict about everything else.
 */
export function readJsonConfig(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${what} ${file} is not JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !('$comment' in raw)) return raw;
  const { $comment: _ignored, ...rest } = raw as Record<string, unknown>;
  return rest;
}
