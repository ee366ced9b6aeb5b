import { Rng } from './rng.js';
import type { AttackStrength, Scenario } from './scenario.js';
import { buildScenario } from './scenario.js';
import { syntheticIlliquidMarket } from './sim-market.js';

const DAY = 86_400_000;

export interface SyntheticOptions {
  seed: number;
  days: number;
  accounts: number;
  victims: number;
  attackStrength?: AttackStrength;
  /** Fills carry their counterparty (default true). */
  exchangeView?: boolean;
  /** First day of the simulation (UTC ms). */
  start?: number;
}

/** A self-contained scenario on synthetic markets (no data files needed): used by the demo and tests. */
export function syntheticScenario(opts: SyntheticOptions): Scenario {
  const from = opts.start ?? Date.UTC(2022, 10, 14);
  const to = from + opts.days * DAY;
  const pumpAt = to - 0.25 * DAY;
  const rng = new Rng(opts.seed ^ 0x5eed);
  const illiquid = syntheticIlliquidMarket('YOYOW/BTC', from, to, pumpAt, rng);
  // Two more thin pairs that accounts may try outside any pump.
  const extra = [
    syntheticIlliquidMarket('NEBL/BTC', from, to, to + DAY, rng),
    syntheticIlliquidMarket('VIB/BTC', from, to, to + DAY, rng),
  ];
  return buildScenario(
    {
      seed: opts.seed,
      name: 'acct',
      illiquid,
      from,
      to,
      benignAccounts: opts.accounts,
      victims: opts.victims,
      ...(opts.attackStrength ? { attackStrength: opts.attackStrength } : {}),
      ...(opts.exchangeView !== undefined ? { exchangeView: opts.exchangeView } : {}),
    },
    extra,
  );
}
