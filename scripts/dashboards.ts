/** `npm run dashboards`: writes grafana/dashboards/<uid>.json from src/observability/dashboards.ts. */
import { writeFileSync } from 'node:fs';
import { dashboards, grafanaJson } from '../src/observability/dashboards.js';

for (const d of dashboards()) {
  const file = `grafana/dashboards/${d.uid}.json`;
  writeFileSync(file, `${JSON.stringify(grafanaJson(d), null, 2)}\n`);
  console.log(`wrote ${file} (${d.panels.length} panels)`);
}
