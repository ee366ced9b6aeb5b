/** `npm run schemas`: writes the JSON Schemas of every record to `schemas/` (see src/events/json-schemas.ts). */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { contractJsonSchemas } from '../src/events/json-schemas.js';

const dir = path.join(import.meta.dirname, '..', 'schemas');
mkdirSync(dir, { recursive: true });
const schemas = contractJsonSchemas();
for (const f of readdirSync(dir))
  if (f.endsWith('.schema.json') && !(f in schemas)) rmSync(path.join(dir, f));
for (const [file, schema] of Object.entries(schemas))
  writeFileSync(path.join(dir, file), `${JSON.stringify(schema, null, 2)}\n`);
console.log(`wrote ${Object.keys(schemas).length} schemas to schemas/`);
