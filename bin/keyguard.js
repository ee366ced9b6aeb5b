#!/usr/bin/env node
// Runs the built CLI when present (npm run build), else the TypeScript sources through tsx.
// main runs itself when the program is keyguard (see the end of src/main.ts).
import { existsSync } from 'node:fs';

const built = new URL('../dist/main.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/main.ts', import.meta.url).href);
}
