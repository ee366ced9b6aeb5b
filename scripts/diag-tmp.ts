import path from 'node:path';
import { loadDetectionConfig } from '../src/config/detection.js';
import { MarketState } from '../src/market/market-state.js';
import { loadTape, readTapeLabels } from '../src/simulate/binance-tape.js';
import { buildScenario } from '../src/simulate/scenario.js';
import { applyAccountEvent, newAccountState, type AccountState } from '../src/state/account-state.js';
import { scoreAccountEvent } from '../src/detection/engine.js';
import { fuse } from '../src/detection/fusion.js';
const dir = path.resolve('../shared/data/binance-pumps');
const cfg = loadDetectionConfig();
const labels = readTapeLabels(dir);
for (const li of [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]) {
const label = labels[li]!;
const DAY = 86400000;
const from = label.pumpAt - 3.5 * DAY, to = label.pumpAt + 0.5 * DAY;
const sc = buildScenario({ seed: 7000 + li, name: `t${li}`, illiquid: loadTape(dir, label, from, to), from, to, benignAccounts: 220, victims: 8 });
const market = new MarketState(cfg);
const states = new Map<string, AccountState>();
const seen = new Map<string, string[]>();
for (const e of sc.events) {
  if (e.kind === 'trade' || e.kind === 'ticker') { market.apply(e); continue; }
  if (e.kind !== 'order' && e.kind !== 'fill') continue;
  let s = states.get(e.accountId); if (!s) states.set(e.accountId, s = newAccountState(e.timestamp));
  applyAccountEvent(s, e, cfg);
  const t = sc.truth[e.accountId]!;
  const snap = market.snapshot(e.exchange, e.symbol, e.timestamp);
  const sig = scoreAccountEvent(e, s, snap, cfg).filter(x=>x.score>=0.1);
  const v = fuse(sig, cfg.fusion, e.apiKeyId!==undefined);
  if (t.kind === 'victim' && e.symbol === t.symbol && e.timestamp >= t.attackStart! - 100 && t.strength !== 'weak') {
    const l = seen.get(e.accountId) ?? []; seen.set(e.accountId, l);
    if (l.length < 6 && !l.some(x=>x.includes('revoke'))) l.push(`${e.kind[0]} b=${sig.find(x=>x.detector==='trade_burst')?.score ?? 0} p=${sig.find(x=>x.detector==='new_illiquid_pair')?.score ?? 0} o=${sig.find(x=>x.detector==='off_market_fill')?.score ?? 0} ${v.recommendation}`);
  }
  if (t.kind === 'pump_buyer' && v.recommendation === 'revoke_key') console.log('FALSE', e.accountId, e.kind, JSON.stringify(sig.map(x=>[x.detector,x.score,x.evidence.summary])));
}
for (const [a, l] of seen) console.log(a, sc.truth[a]!.strength, l.join(' | '));
}
