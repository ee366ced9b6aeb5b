import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cluster, Redis } from 'ioredis';

const dir = path.dirname(fileURLToPath(import.meta.url));

/** One atomic operation per file, `<name>-<N>.lua` with N = number of KEYS, registered once per connection. */
export interface ScriptCommands {
  saveState(
    key: string,
    stateJson: string,
    ttlSeconds: number,
    ...sourcePositions: Array<string | number>
  ): Promise<number>;
  observeActions(
    actionsKey: string,
    decisionsKey: string,
    stateKey: string,
    ...args: Array<string | number>
  ): Promise<string[]>;
}

function commandName(file: string): { name: string; numberOfKeys: number } {
  const m = /^(.+)-(\d+)\.lua$/.exec(file);
  if (!m) throw new Error(`script file ${file} is not named <name>-<keys>.lua`);
  const name = m[1]!.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  return { name, numberOfKeys: Number(m[2]) };
}

export function defineScriptCommands<C extends Redis | Cluster>(redis: C): C & ScriptCommands {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.lua'))) {
    const { name, numberOfKeys } = commandName(file);
    redis.defineCommand(name, { numberOfKeys, lua: readFileSync(path.join(dir, file), 'utf8') });
  }
  return redis as C & ScriptCommands;
}
