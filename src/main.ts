/**
 * The composition root: parses the command line and the environment once, builds the logger,
 * config and stores, and wires the command. Nothing else in src/ has side effects on import.
 */
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import v8 from 'node:v8';
import {
  BACKFILL_USAGE,
  COLLECT_USAGE,
  CONFIG_USAGE,
  CONVERT_USAGE,
  DEMO_USAGE,
  MARKET_FEED_USAGE,
  REPLAY_USAGE,
  SIMULATE_USAGE,
  WEBHOOKS_USAGE,
  WORKER_USAGE,
} from './cli/usage.js';
import { loadDetectionConfig } from './config/detection.js';
import { loadRuntimeEnv } from './config/runtime.js';
import { KeyguardError } from './errors.js';
import { createLogger } from './logger.js';

const USAGE = `keyguard — catches compromised exchange API keys while the theft is happening

usage: keyguard <command> [options]

commands:
  demo        simulate a short stream with one attack, replay it, print the alerts
  replay      run the detectors over contract events (JSONL) and write alerts (JSONL)
  backfill    build baselines in Redis from past contract events (JSONL), no alerts
  simulate    generate a contract event stream with benign and attacked accounts
  convert     exchange-native payloads or ccxt objects → contract events (JSONL)
  worker      the streaming worker: Kafka in, alerts/recommendations/dead letters out (KAFKA_BROKERS, REDIS_URL)
  market-feed polls tickers and public trades through ccxt into the market topic (KAFKA_BROKERS, KEYGUARD_MARKET_FEED_CONFIG)
  collect     polls connected keys' own trades and orders through ccxt (KAFKA_BROKERS, REDIS_URL, KEYGUARD_COLLECT_CONFIG)
  webhooks    delivers recommendations to signed webhooks (KAFKA_BROKERS, REDIS_URL, KEYGUARD_WEBHOOKS_CONFIG)
  config      check or publish a detection config version: thresholds changed without a redeploy (KAFKA_BROKERS)
  help        this text (keyguard <command> --help: that command's usage; keyguard --version)

${REPLAY_USAGE}

${BACKFILL_USAGE}

${SIMULATE_USAGE}

${CONVERT_USAGE}

${WEBHOOKS_USAGE}

${MARKET_FEED_USAGE}

${COLLECT_USAGE}

${CONFIG_USAGE}

Environment: see docs/configuration.md. Detection thresholds: config/detection.json.`;

/** Each command's own usage, for `keyguard <command> --help`. */
const COMMAND_USAGE: Record<string, string> = {
  demo: DEMO_USAGE,
  replay: REPLAY_USAGE,
  backfill: BACKFILL_USAGE,
  simulate: SIMULATE_USAGE,
  convert: CONVERT_USAGE,
  worker: WORKER_USAGE,
  'market-feed': MARKET_FEED_USAGE,
  collect: COLLECT_USAGE,
  webhooks: WEBHOOKS_USAGE,
  config: CONFIG_USAGE,
};

/** The package's version (package.json sits one folder above src/ and dist/ alike). */
export function keyguardVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export async function main(
  argv: string[],
  stdout: Writable = process.stdout,
  stderr: Writable = process.stderr,
) {
  const [command, ...rest] = argv;
  // Help and version touch no service and read no environment.
  if (command === '--version' || command === '-V' || command === 'version') {
    stdout.write(`keyguard ${keyguardVersion()}\n`);
    return 0;
  }
  const usage = command ? COMMAND_USAGE[command] : undefined;
  if (usage && (rest.includes('--help') || rest.includes('-h'))) {
    stdout.write(`${usage}\n`);
    return 0;
  }
  try {
    const env = loadRuntimeEnv();
    const log = createLogger(env.LOG_LEVEL).child({ module: 'cli', command });
    const loadConfig = (file?: string) => loadDetectionConfig(file ?? env.KEYGUARD_DETECTION_CONFIG);
    switch (command) {
      case 'demo':
        return await (await import('./cli/demo-command.js')).demoCommand(loadConfig, log, stdout);
      case 'replay':
        return (
          await (await import('./cli/replay-command.js')).replayCommand(rest, loadConfig, log, stdout, stderr)
        ).exitCode;
      case 'backfill':
        return await (await import('./cli/backfill-command.js')).backfillCommand(
          rest,
          env,
          loadConfig,
          log,
          stderr,
        );
      case 'convert':
        return (await import('./cli/convert-command.js')).convertCommand(rest, stdout, stderr);
      case 'simulate':
        return await (await import('./cli/simulate-command.js')).simulateCommand(
          rest,
          env,
          log,
          stdout,
          stderr,
        );
      case 'worker':
        return await (await import('./cli/worker-command.js')).workerCommand(env, loadConfig(), log);
      case 'market-feed':
        return await (await import('./cli/market-feed-command.js')).marketFeedCommand(env, log);
      case 'collect':
        return await (await import('./cli/collect-command.js')).collectCommand(env, log);
      case 'config':
        return await (await import('./cli/config-command.js')).configCommand(
          rest,
          env,
          loadConfig(),
          log,
          stdout,
        );
      case 'webhooks':
        return await (await import('./cli/webhooks-command.js')).webhooksCommand(rest, env, log);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        stdout.write(`${USAGE}\n`);
        return 0;
      default:
        stderr.write(`keyguard: unknown command "${command}"\n\n${USAGE}\n`);
        return 2;
    }
  } catch (err) {
    if (err instanceof KeyguardError) {
      stderr.write(`keyguard: ${err.code}: ${err.message}\n`);
      return err.code === 'KG_ERR_USAGE' || err.code === 'KG_ERR_CONFIG_INVALID' ? 2 : 1;
    }
    if (err instanceof TypeError && (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      stderr.write(`keyguard: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

/** Stream processing allocates many short-lived objects: a larger young generation halves GC time. */
export function tuneHeapForStreaming(): void {
  v8.setFlagsFromString('--max-semi-space-size=32');
}

// Run when executed as a program (tsx src/main.ts, node dist/main.js, bin/keyguard.js).
if (process.argv[1] && /(?:main\.[jt]s|keyguard(?:\.js)?)$/.test(process.argv[1])) {
  tuneHeapForStreaming();
  // The long-running commands' clients may leave timers and sockets behind: once such a command
  // has finished — or failed, e.g. stopped by a signal while still starting — the process exits.
  const longRunning = ['worker', 'webhooks', 'market-feed', 'collect'].includes(process.argv[2] ?? '');
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      if (longRunning) process.exit(code);
    },
    (err) => {
      process.stderr.write(`keyguard: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
      if (longRunning) process.exit(1);
    },
  );
}
