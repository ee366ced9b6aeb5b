#!/usr/bin/env node
// Runs the built CLI when present (npm run build), else the TypeScript sources through tsx.
import { existsSync } from 'node:fs';

const built = new URL('../dist/main.js', import.meta.url);
const { main } = existsSync(built)
  ? await import(built.href)
  : await (async () => {
      const { register } = await import('tsx/esm/api');
      register();
      return import(new URL('../src/main.ts', import.meta.url).href);
    })();
process.exitCode = await main(process.argv.slice(2));
