// tsc does not copy the Redis scripts: the build does (into dist/, or the outDir given).
import { cpSync } from 'node:fs';
import path from 'node:path';

const outDir = process.argv[2] ?? 'dist';
cpSync('src/state/commands', path.join(outDir, 'state/commands'), {
  recursive: true,
  filter: (f) => !f.endsWith('.ts'),
});
