/**
 * Every command's usage text. Kept apart from the commands so that `keyguard --help` and
 * `keyguard <command> --help` load nothing else (the commands, and ccxt with them, load on demand).
 */

export const BACKFILL_USAGE = `keyguard backfill FILE… [options]      (a JSONL export)
keyguard backfill --since TIME [options]  (the account topics, from TIME to their current end)
  Folds past contract events into the baselines in Redis, emitting no alerts: accounts are judged
  against their real past from the first minute (a new deployment, or Redis lost its data).
  Idempotent: a file's events are numbered in event-time order under the run's name, a topic's by
  their offsets under the worker's own source names (a worker skips what the backfill folded, and
  the other way round), so a run again, or after a crash, skips what the store holds.
  --redis URL         the Redis the workers use (default: REDIS_URL)
  --redis-prefix P    the workers' prefix (default: KEYGUARD_REDIS_PREFIX, kg:)
  --name NAME         a file run's name, positions are kept under it (default: the files' names)
  --since TIME        read the account and apikey topics (KEYGUARD_TOPIC_ORDERS, _FILLS, _APIKEYS)
                      from TIME (ISO 8601, or epoch ms) through KAFKA_BROKERS (or --kafka HOSTS)
  --config FILE       detection config overrides (JSON, any subset of config/detection.json)
  --config-versions F config versions over event time (JSONL records as published by
                      keyguard config publish): baselines folded as the workers fold them
  --batch N           events per batch (default 2000)
  --reorder-ms N      event-time reordering slack (default 60000)
Exit status: 0 every line folded, 3 some lines rejected (each reported on stderr), 2 usage error.`;

export const COLLECT_USAGE = `keyguard collect
  For each connected key in KEYGUARD_COLLECT_CONFIG, polls its own trades and orders through ccxt
  since the cursor kept in Redis and publishes contract fill/order events (KAFKA_BROKERS, REDIS_URL).`;

export const CONVERT_USAGE = `keyguard convert --exchange EX --kind KIND --account ID [options] [FILE]
  Turns an exchange's own payload (JSON; executionReport messages also as JSONL) into contract
  events (JSONL on stdout), through ccxt's parsers. FILE defaults to stdin.
  --exchange EX       binance | kucoin | coinbase (the exchange's id in ccxt; also the events' exchange)
  --kind KIND         trades (fetchMyTrades response) | orders (fetchOrders/open/closed) |
                      executionReport (Binance user-data messages) |
                      ccxt-trades | ccxt-orders (ccxt unified Trade/Order objects, any exchange)
  --account ID        the account they belong to      --api-key ID   the key that placed them
  --symbols S,S       the markets they may mention, as BASE/QUOTE (native kinds: exchange market
                      ids map back to unified symbols through them)
Exit status: 0 all converted, 3 some items rejected (each reported on stderr), 2 usage error.`;

export const CONFIG_USAGE = `keyguard config check|publish FILE [options]
keyguard config list
  A detection config version: FILE holds overrides (any subset of config/detection.json's keys,
  on top of the config the workers start with). check: validates it as the workers will (a bad or
  unknown key, or a key only a restart may change, is named; exit 2). publish: also sends it to
  the compacted config topic (KAFKA_BROKERS, KEYGUARD_TOPIC_CONFIG); every worker scores events
  dated from its effectiveFrom with it, and names the version on each alert (configVersion).
  --effective-from T  event time it applies from (ISO or epoch ms; at least KEYGUARD_CONFIG_LEAD_MS
                      from now; default: that lead + 5 s)
  --comment TEXT      who changed what, and why (kept in the record)
  list: every version on the topic as the workers read it (JSON lines: version, effectiveFrom,
  in effect / scheduled / superseded, comment), then the refused records with their reasons.
Exit status: 0 valid (and published), 2 refused (the message names the key) or a usage error.`;

export const DEMO_USAGE = `keyguard demo
  Simulates a short stream with one attack, replays it on the embedded store (no Kafka, no Redis),
  writes .keyguard/demo/{events.jsonl,alerts.jsonl,truth.json} and prints the alerts readably.`;

export const MARKET_FEED_USAGE = `keyguard market-feed
  Polls tickers and public trades of the venues in KEYGUARD_MARKET_FEED_CONFIG through ccxt and
  publishes contract ticker/trade events to the market topic (KAFKA_BROKERS, KEYGUARD_TOPIC_MARKET).`;

export const REPLAY_USAGE = `keyguard replay [FILE…] [options]
  Reads contract events as JSONL (files, or stdin when none), writes alerts as JSONL.
  --out FILE          write alerts to FILE (default: stdout)
  --redis URL         keep baselines in Redis instead of memory
  --redis-prefix P    key prefix in Redis (default: a fresh prefix per run, printed)
  --config FILE       detection config overrides (JSON, any subset of config/detection.json)
  --config-versions F config versions over event time (JSONL records as published by
                      keyguard config publish): the same versions give the worker's alerts
  --batch N           events per batch (default 2000)
  --reorder-ms N      event-time reordering slack (default 60000)
Exit status: 0 all lines processed, 3 some lines rejected (each reported on stderr), 2 usage error.`;

export const SIMULATE_USAGE = `keyguard simulate [options]
  Generates contract events (JSONL) for benign accounts of several kinds and attacked accounts,
  on synthetic markets with a pump, plus the ground truth.
  --out FILE        events (default: stdout)
  --truth FILE      ground truth as JSON (which accounts are victims, their malicious fills)
  --seed N          (default 1)   --days N (default 2)   --accounts N (default 40)   --victims N (default 1)
  --to-kafka        publish to the input topics instead (KAFKA_BROKERS, KEYGUARD_TOPIC_*): accounts
                    keyed by account, markets by venue and symbol, in event-time order
  --rate N          with --to-kafka: at most N events per second (default: as fast as acknowledged)`;

export const WEBHOOKS_USAGE = `keyguard webhooks [options]
  Delivers recommendations (the recommendations topic) to the endpoints in KEYGUARD_WEBHOOKS_CONFIG,
  signed per Standard Webhooks, with durable retries and the revocation circuit breaker.
  --dry-run         log and count what would be sent, send nothing (also KEYGUARD_WEBHOOKS_DRY_RUN=true)
  --enable ID       re-enable an endpoint disabled by a 410 Gone, then exit`;

export const WORKER_USAGE = `keyguard worker
  The streaming worker: consumes the account topics (shared by the consumer group) and the whole
  market topic, publishes alerts, recommendations and dead letters, keeps baselines in Redis, and
  runs the campaign aggregator. Serves /metrics, /healthz, /readyz on KEYGUARD_METRICS_PORT.
  Needs KAFKA_BROKERS and REDIS_URL; every KEYGUARD_* variable is in docs/configuration.md;
  detection thresholds from KEYGUARD_DETECTION_CONFIG over config/detection.json, and the versions
  published since on KEYGUARD_TOPIC_CONFIG (keyguard config publish), each from its event time.
  Stops on SIGTERM/SIGINT after committing the batch in flight.
Exit status: 0 stopped cleanly, 1 failed or the shutdown overran, 2 configuration error.`;
