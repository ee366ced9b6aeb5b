/**
 * The layer rule (`npm run layers`, part of `npm test`): imports point one way, from the
 * composition root down to the contract. docs/architecture.md draws the same layers.
 *
 *   main.ts → cli → apps (worker, webhooks, collector, market-data, replay, simulate)
 *     → ingest → campaign → detection → detectors → model (market, state) → config → scoring
 *     → contract (events) → foundation (errors, logger)
 *   infra (kafka, pipeline, observability) sits beside the domain: the apps use both; the domain
 *   (scoring … campaign) never reaches Kafka, the pipeline or the metrics, and infra never
 *   reaches the domain.
 */
const LAYERS = [
  ['foundation', '^src/(errors|logger|secret-fields)[.]ts$'],
  ['contract', '^src/events/'],
  ['scoring', '^src/scoring/'],
  ['config', '^src/config/'],
  ['model', '^src/(market|state)/'],
  ['detectors', '^src/detectors/'],
  ['detection', '^src/detection/'],
  ['campaign', '^src/campaign/'],
  ['ingest', '^src/ingest/'],
  ['apps', '^src/(worker|webhooks|collector|market-data|replay|simulate)/'],
  ['cli', '^src/cli/'],
  ['root', '^src/main[.]ts$'],
];
const INFRA = '^src/(kafka|pipeline|observability)/';
const DOMAIN = '^src/(scoring|market|state|detectors|detection|campaign)/';

const upward = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `${name}-imports-downward`,
  comment: `${name} may only import the layers below it`,
  severity: 'error',
  from: { path },
  to: { path: LAYERS.slice(i + 1).map(([, p]) => p) },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'domain-without-infra',
      comment: 'scoring, market, state, detectors, detection and campaign folds do not reach Kafka, the pipeline or metrics',
      severity: 'error',
      from: { path: DOMAIN },
      to: { path: INFRA },
    },
    {
      name: 'infra-without-domain',
      comment: 'kafka, pipeline and observability know the contract, config and foundation only',
      severity: 'error',
      from: { path: INFRA },
      to: { path: [DOMAIN, ...LAYERS.slice(LAYERS.findIndex(([n]) => n === 'ingest')).map(([, p]) => p)] },
    },
    {
      name: 'apps-independent',
      comment: 'one app (worker, webhooks, collector, market-data, replay, simulate) does not import another',
      severity: 'error',
      from: { path: '^src/(worker|webhooks|collector|market-data|replay|simulate)/' },
      to: {
        path: '^src/(worker|webhooks|collector|market-data|replay|simulate)/',
        pathNot: '^src/$1/',
      },
    },
    {
      name: 'detectors-pure',
      comment: 'a detector is a pure function: no I/O modules, no packages',
      severity: 'error',
      from: { path: '^src/detectors/' },
      to: { dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer'] },
    },
    {
      name: 'ccxt-in-adapters',
      comment: 'ccxt (large and slow to load) only where exchanges are talked to: ingest, market-data, collector and the commands that run them',
      severity: 'error',
      from: { pathNot: ['^src/(ingest|market-data|collector)/', '^src/cli/(convert|collect|market-feed)-command[.]ts$'] },
      to: { path: 'node_modules/ccxt' },
    },
    {
      name: 'commands-load-on-demand',
      comment: 'main.ts imports each command when it runs, so --help and other commands do not load them all',
      severity: 'error',
      from: { path: '^src/main[.]ts$' },
      to: { path: '^src/cli/.+-command[.]ts$', dependencyTypesNot: ['dynamic-import'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'not-to-test',
      comment: 'production code does not import tests or scripts',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.js'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types'],
    },
  },
};
