// tsc does not copy the Redis scripts: the build does.
import { cpSync } from 'node:fs';

cpSync('src/state/commands', 'dist/state/commands', { recursive: true, filter: (f) => !f.endsWith('.ts') });
