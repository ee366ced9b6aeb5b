import { spawnSync } from 'node:child_process';
import { ErrorCodes, KeyguardError } from '../../src/errors.js';

/** A prerequisite (java, mvn, redis-server) is not installed: one message saying what to install. */
export class MissingToolError extends KeyguardError {
  constructor(tool: string, install: string) {
    super(ErrorCodes.MISSING_TOOL, `${tool} is not installed or not on PATH. Install it with: ${install}`);
    this.name = 'MissingToolError';
  }
}

export function requireTool(tool: string, versionArg: string, install: string): void {
  const probe = spawnSync(tool, [versionArg], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) throw new MissingToolError(tool, install);
}
