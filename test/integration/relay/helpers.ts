// Shared by the relay's integration, e2e and bench code: real processes on loopback (a relay started the way
// `npm start` starts it, a redis-server on a free port), keys, tokens and WebSocket clients.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { ed25519GenerateSecretKey, ed25519PublicKey } from '../../../wasm/index.ts';
import { createRelayToken, withToken } from '../../../web/src/core/net/index.ts';
import { toHex } from '../../../web/src/core/util/index.ts';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface TestKey {
  readonly secretKey: Uint8Array;
  readonly publicKey: string;
}

/** A fresh key nobody registered (the core must be initialised). */
export function strangerKey(): TestKey {
  const secretKey = ed25519GenerateSecretKey();
  return { secretKey, publicKey: toHex(ed25519PublicKey(secretKey)) };
}

/** A signaling URL with a fresh single-use token of `key` for the relay at `wsUrl`. */
export function tokenUrl(key: { secretKey: Uint8Array }, wsUrl: string, opts: { lifetimeMs?: number; scope?: string } = {}): string {
  return withToken(wsUrl, createRelayToken({ secretKey: key.secretKey, relayUrl: wsUrl, expiresAt: Date.now() + (opts.lifetimeMs ?? 60_000), scope: opts.scope ?? '' }));
}

/** An Authorization header with a fresh single-use token. */
export function bearer(key: { secretKey: Uint8Array }, wsUrl: string, scope = ''): Record<string, string> {
  return { Authorization: `Bearer ${createRelayToken({ secretKey: key.secretKey, relayUrl: wsUrl, expiresAt: Date.now() + 60_000, scope })}` };
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

function waitForLine(proc: ChildProcess, pattern: RegExp, timeoutMs: number, what: string): Promise<RegExpMatchArray> {
  return new Promise((res, rej) => {
    let buf = '';
    const timer = setTimeout(() => rej(new Error(`${what} did not start in ${timeoutMs} ms:\n${buf.slice(-2000)}`)), timeoutMs);
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = pattern.exec(buf);
      if (m) {
        clearTimeout(timer);
        proc.stdout?.off('data', onData);
        res(m);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', (d: Buffer) => (buf += d.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`${what} exited with ${code}:\n${buf.slice(-2000)}`));
    });
  });
}

export interface RelayProcess {
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
  readonly proc: ChildProcess;
  /** Output lines seen so far (structured JSON logs). */
  readonly output: string[];
  /** SIGTERM and wait for exit; resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

let compiled: Promise<string> | null = null;

/**
 * The relay compiled as `npm start` compiles it (relay/build.mjs), once per test process, into a directory of
 * its own (test files run in parallel). Resolves to its main.js.
 */
export function compiledRelay(): Promise<string> {
  compiled ??= (async () => {
    const out = mkdtempSync(join(tmpdir(), 'hygeia-relay-build-'));
    const proc = spawn(process.execPath, ['relay/build.mjs', '--out', out], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const code = await new Promise<number | null>((res) => proc.once('exit', res));
    if (code !== 0) throw new Error(`relay build failed:\n${log}`);
    return join(out, 'relay', 'main.js');
  })();
  return compiled;
}

/** Starts the compiled relay as `npm start` does (after its build step); `env` adds to and overrides ours. */
export async function spawnRelay(env: Record<string, string>): Promise<RelayProcess> {
  const main = await compiledRelay();
  const proc = spawn(process.execPath, [main], {
    cwd: repoRoot,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  proc.stdout!.on('data', (d: Buffer) => output.push(...d.toString().split('\n').filter(Boolean)));
  const m = await waitForLine(proc, /listening on (http:\/\/127\.0\.0\.1:(\d+))/, 30_000, 'the relay');
  const url = m[1]!;
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    port: Number(m[2]),
    proc,
    output,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

export interface RedisProcess {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisProcess> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForLine(proc, /Ready to accept connections/, 15_000, 'redis-server');
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

export type Opened = { ok: true; ws: WebSocket } | { ok: false; status: number; body: string };

/** Opens a WebSocket; resolves with the HTTP status if the upgrade is refused. */
export function openSocket(url: string): Promise<Opened> {
  return new Promise((res, rej) => {
    const ws = new WebSocket(url);
    ws.once('open', () => res({ ok: true, ws }));
    ws.once('unexpected-response', (_req, response) => {
      let body = '';
      response.on('data', (d: Buffer) => (body += d.toString()));
      response.on('end', () => res({ ok: false, status: response.statusCode ?? 0, body }));
    });
    ws.once('error', (err) => rej(err));
  });
}

/** Collects JSON messages a socket receives. */
export function collect(ws: WebSocket): unknown[] {
  const got: unknown[] = [];
  ws.on('message', (d: Buffer) => got.push(JSON.parse(d.toString())));
  return got;
}

export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((res) => ws.once('close', (code, reason) => res({ code, reason: reason.toString() })));
}

export async function eventually(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const distDir = resolve(repoRoot, 'dist');
