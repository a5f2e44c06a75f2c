// `npm start`: the relay serving the built PWA. Paths are relative to the working directory (the repository
// when run by npm). Environment:
//   PORT (default 8080; 0 picks a free port), HOST (default 127.0.0.1),
//   HYGEIA_GENESIS     the consortium's genesis.json; when unset, a four-clinic development consortium is
//                      created under HYGEIA_DEV_DIR (default .hygeia/) and, on a loopback HOST with no public
//                      URL, this machine's pages may take a development clinic's identity (/dev/identity/...),
//   HYGEIA_LEDGER_DIR  where the relay keeps the ledger state it verified (default HYGEIA_DEV_DIR or .hygeia/),
//   HYGEIA_PUBLIC_URL  comma-separated public ws(s):// or http(s):// URLs (behind a proxy),
//   ICE_SERVERS        a JSON array of RTCIceServer handed to browsers (TURN ones to members only),
//   ICE_TRANSPORT_POLICY  'relay' makes browsers use TURN only (default 'all'),
//   TURN_SECRET, TURN_URLS  coturn's use-auth-secret: short-lived TURN credentials minted per member,
//   METRICS_HOST, METRICS_PORT  serve /metrics there instead of on the main port,
//   REDIS_URL          share topics with other relays through Redis pub/sub,
//   HYGEIA_DIST        the built PWA (default dist/), LOG_LEVEL,
//   limits: HYGEIA_MAX_FRAME_BYTES, HYGEIA_MESSAGES_PER_SECOND, HYGEIA_MESSAGE_BURST, HYGEIA_MAX_TOPICS,
//           HYGEIA_MAX_TOPIC_LENGTH, HYGEIA_MAX_CONNECTIONS_PER_MEMBER, HYGEIA_MAX_TOKEN_LIFETIME_MS,
//           HYGEIA_FAILED_TOKENS_PER_MINUTE, HYGEIA_FAILED_TOKEN_BURST, HYGEIA_MAX_BLOCKS_BODY_BYTES.

import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { initCore } from '../wasm/index.ts';
import { ensureDevConsortium } from '../web/src/core/node/consortium-files.ts';
import { parseGenesisText, type Genesis } from '../web/src/core/node/genesis.ts';
import { parseIceServers, parseIceTransportPolicy, parseTurnSecret } from './ice.ts';
import { RelayLedger } from './ledger.ts';
import { limitsFromEnv } from './limits.ts';
import { createLogger, type LogLevel } from './log.ts';
import { Relay } from './server.ts';

const env = process.env;
const log = createLogger({ level: (env.LOG_LEVEL as LogLevel | undefined) ?? 'info' });

function fail(message: string): never {
  log.error(message);
  process.exit(1);
}

function port(name: string, text: string): number {
  const p = Number(text);
  if (!Number.isInteger(p) || p < 0 || p > 65535) fail(`${name} must be an integer 0..65535, got ${JSON.stringify(text)}`);
  return p;
}

const host = env.HOST || '127.0.0.1';
const mainPort = port('PORT', env.PORT ?? '8080');

let relay: Relay;
try {
  await initCore();
  let genesis: Genesis;
  let devDir: string | null = null;
  if (env.HYGEIA_GENESIS) {
    genesis = parseGenesisText(readFileSync(resolve(env.HYGEIA_GENESIS), 'utf8'));
    log.info('consortium', { genesis: resolve(env.HYGEIA_GENESIS), chainId: genesis.chainId, clinics: genesis.clinics.length });
  } else {
    devDir = resolve(env.HYGEIA_DEV_DIR || '.hygeia');
    const dev = await ensureDevConsortium(devDir, 4);
    genesis = dev.genesis;
    log.info(dev.created ? 'created a development consortium' : 'using the development consortium', {
      dir: devDir,
      chainId: genesis.chainId,
      hint: 'set HYGEIA_GENESIS to run a real consortium',
    });
  }
  const ledger = RelayLedger.open({ genesis, dir: resolve(env.HYGEIA_LEDGER_DIR || devDir || '.hygeia'), log });
  const distDir = resolve(env.HYGEIA_DIST || 'dist');
  if (!existsSync(distDir)) log.warn('no built PWA to serve: run `npm run build`', { distDir });
  const metricsPort = env.METRICS_PORT ? port('METRICS_PORT', env.METRICS_PORT) : null;
  relay = new Relay({
    host,
    port: mainPort,
    genesis,
    ledger,
    distDir,
    devDir,
    publicUrls: env.HYGEIA_PUBLIC_URL
      ? env.HYGEIA_PUBLIC_URL.split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined,
    redisUrl: env.REDIS_URL || undefined,
    iceServers: parseIceServers(env.ICE_SERVERS),
    iceTransportPolicy: parseIceTransportPolicy(env.ICE_TRANSPORT_POLICY),
    turn: parseTurnSecret(env.TURN_SECRET, env.TURN_URLS),
    metricsListener: metricsPort === null ? null : { host: env.METRICS_HOST || '127.0.0.1', port: metricsPort },
    limits: limitsFromEnv(env),
    log,
  });
  await relay.start();
} catch (err) {
  fail(`relay failed to start: ${err instanceof Error ? err.message : String(err)}`);
}

// Printed whatever LOG_LEVEL says: scripts and tests wait for this line.
createLogger({ level: 'debug' }).info(`listening on ${relay.url}`, { metrics: relay.metricsUrl ?? 'main port', redis: env.REDIS_URL ? 'on' : 'off' });

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    relay
      .stop()
      .then(() => {
        log.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => fail(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`));
  });
}
