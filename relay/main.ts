// `npm start`: the relay serving the built PWA. Environment:
//   PORT (default 8080; 0 picks a free port), HOST (default 127.0.0.1),
//   HYGEIA_MEMBERS  the consortium's members file; when unset, a development consortium file is created under
//                   .hygeia/ and browsers on this machine may enrol themselves into it (loopback only),
//   HYGEIA_PUBLIC_URL  comma-separated public ws(s):// or http(s):// URLs tokens are bound to (behind a proxy),
//   REDIS_URL       share topics with other relays through Redis pub/sub,
//   HYGEIA_DIST     the built PWA (default dist/), HYGEIA_DEV_DIR (default .hygeia/), LOG_LEVEL,
//   limits: HYGEIA_MAX_FRAME_BYTES, HYGEIA_MESSAGES_PER_SECOND, HYGEIA_MESSAGE_BURST, HYGEIA_MAX_TOPICS,
//           HYGEIA_MAX_TOPIC_LENGTH, HYGEIA_MAX_CONNECTIONS_PER_MEMBER, HYGEIA_MAX_TOKEN_LIFETIME_MS.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { limitsFromEnv } from './limits.ts';
import { createLogger, type LogLevel } from './log.ts';
import { MemberRegistry, ensureDevMembersFile } from './members.ts';
import { Relay, isLoopbackHost } from './server.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const env = process.env;
const log = createLogger({ level: (env.LOG_LEVEL as LogLevel | undefined) ?? 'info' });

function fail(message: string): never {
  log.error(message);
  process.exit(1);
}

const host = env.HOST || '127.0.0.1';
const portText = env.PORT ?? '8080';
const port = Number(portText);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`PORT must be an integer 0..65535, got ${JSON.stringify(portText)}`);

let membersPath = env.HYGEIA_MEMBERS;
let devEnroll = false;
if (!membersPath) {
  const dev = ensureDevMembersFile(resolve(env.HYGEIA_DEV_DIR ?? resolve(repoRoot, '.hygeia')));
  membersPath = dev.path;
  devEnroll = isLoopbackHost(host);
  log.info(dev.created ? 'created a development consortium' : 'using the development consortium', {
    path: dev.path,
    devEnroll,
    hint: devEnroll
      ? 'browsers on this machine enrol themselves; set HYGEIA_MEMBERS to run a real consortium'
      : 'HOST is not loopback: enrolment is off; add members to this file or set HYGEIA_MEMBERS',
  });
}

let relay: Relay;
try {
  const members = new MemberRegistry(resolve(membersPath), log);
  const distDir = resolve(env.HYGEIA_DIST ?? resolve(repoRoot, 'dist'));
  if (!existsSync(distDir)) log.warn('no built PWA to serve: run `npm run build`', { distDir });
  relay = new Relay({
    host,
    port,
    members,
    distDir,
    publicUrls: env.HYGEIA_PUBLIC_URL ? env.HYGEIA_PUBLIC_URL.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    redisUrl: env.REDIS_URL || undefined,
    limits: limitsFromEnv(env),
    log,
    devEnroll,
  });
  await relay.start();
} catch (err) {
  fail(`relay failed to start: ${err instanceof Error ? err.message : String(err)}`);
}

// Printed whatever LOG_LEVEL says: scripts and tests wait for this line.
createLogger({ level: 'debug' }).info(`listening on ${relay.url}`, { members: membersPath, redis: env.REDIS_URL ? 'on' : 'off' });

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
