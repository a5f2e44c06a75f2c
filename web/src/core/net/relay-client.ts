// What a node asks of the relay over HTTP: its configuration (ICE servers, the genesis), the height of the
// ledger it verified, the blocks above that height (the relay checks and replays them itself: it is the
// ledger's light client, not the node's follower), and one-time enrolment codes. Every request carries a
// fresh single-use token (relay-token.ts) as a bearer credential.
//
// Blocks travel as application/octet-stream: uint(count) ‖ count × bytes(encodeBlock(block)).

import { Reader, Writer } from '../codec/index.ts';
import { decodeBlock, encodeBlock, type Block } from '../ledger/block.ts';
import { createRelayToken } from './relay-token.ts';

/** Blocks per push (the relay refuses larger batches). */
export const MAX_BLOCKS_PER_PUSH = 256;
/** Bytes per push body: the relay's default bound (HYGEIA_MAX_BLOCKS_BODY_BYTES) minus room for framing. */
export const MAX_PUSH_BYTES = 32 * 1024 * 1024 - 4096;

export type RelayClientErrorCode =
  | 'unreachable' // no answer (network, relay down)
  | 'unauthorized' // the relay refused our token (reason says why: not-member, expired-token, ...)
  | 'gap' // the relay needs blocks below the ones we sent (its height says which)
  | 'refused-block' // the relay verified a block and refused it (reason: the check that failed)
  | 'refused' // any other refusal (bad request, too large, not found)
  | 'bad-response'; // an answer that is not what the relay sends

export class RelayClientError extends Error {
  override readonly name = 'RelayClientError';
  constructor(
    readonly code: RelayClientErrorCode,
    /** The relay's reason, when it gave one. */
    readonly reason: string,
    readonly status: number,
    /** The relay's ledger height, when the answer said it. */
    readonly height?: number,
  ) {
    super(`relay: ${code}${reason ? ` (${reason})` : ''}`);
  }
}

export interface RelayConfig {
  readonly iceServers: RTCIceServer[];
  readonly relayUrl: string;
  readonly genesis: unknown;
}

export interface LedgerHead {
  readonly height: number;
  /** Hex block hash (the genesis hash at height 0). */
  readonly hash: string;
}

export interface PushResult extends LedgerHead {
  readonly accepted: number;
}

export function encodeBlockBatch(blocks: readonly Block[]): Uint8Array {
  const w = new Writer(1024);
  w.uint(blocks.length);
  for (const b of blocks) w.bytes(encodeBlock(b));
  return w.finish();
}

/** Decodes a push body; throws (BlockCodecError, or RangeError for the framing) on anything malformed. */
export function decodeBlockBatch(bytes: Uint8Array, maxBlocks = MAX_BLOCKS_PER_PUSH): Block[] {
  const r = new Reader(bytes, bytes.length);
  const count = r.uint(maxBlocks);
  const raw: Uint8Array[] = [];
  for (let i = 0; i < count && r.ok; i++) raw.push(r.bytes(bytes.length));
  if (!r.end()) throw new RangeError(`block batch does not decode (${r.error ?? 'error'})`);
  return raw.map((b) => decodeBlock(b));
}

export interface RelayClientOptions {
  /** The relay's URL (ws:// or http://, either: the other is derived). */
  readonly relayUrl: string;
  readonly secretKey: Uint8Array;
  /** Token lifetime (default one minute: each token serves one request). */
  readonly tokenLifetimeMs?: number;
  readonly fetch?: typeof fetch;
}

export class RelayClient {
  private readonly http: string;
  private readonly ws: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: RelayClientOptions) {
    const base = opts.relayUrl.replace(/\/+$/, '');
    this.http = base.replace(/^ws/, 'http');
    this.ws = base.replace(/^http/, 'ws');
    this.fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** ICE servers (TURN credentials only because we are authenticated), the relay's URL, the genesis. */
  async config(): Promise<RelayConfig> {
    const body = await this.request('GET', '/v1/config');
    const c = body as Partial<RelayConfig>;
    if (!Array.isArray(c.iceServers) || typeof c.relayUrl !== 'string' || typeof c.genesis !== 'object') throw new RelayClientError('bad-response', '', 200);
    return c as RelayConfig;
  }

  /** The height and head hash of the ledger the relay verified. */
  async head(): Promise<LedgerHead> {
    return checkHead(await this.request('GET', '/v1/ledger/head'));
  }

  /**
   * Pushes blocks (in height order, starting at or below the relay's height + 1) in batches the relay takes.
   * Resolves to the relay's head after the last batch; rejects with RelayClientError('gap' | 'refused-block').
   */
  async pushBlocks(blocks: readonly Block[]): Promise<PushResult> {
    let result: PushResult | null = null;
    let accepted = 0;
    let batch: Block[] = [];
    let size = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const r = checkHead(await this.request('POST', '/v1/ledger/blocks', encodeBlockBatch(batch))) as PushResult;
      accepted += r.accepted;
      result = { ...r, accepted };
      batch = [];
      size = 0;
    };
    for (const b of blocks) {
      const bytes = encodeBlock(b).length + 8;
      if (batch.length >= MAX_BLOCKS_PER_PUSH || (batch.length > 0 && size + bytes > MAX_PUSH_BYTES)) await flush();
      batch.push(b);
      size += bytes;
    }
    await flush();
    return result ?? { ...(await this.head()), accepted: 0 };
  }

  /**
   * Brings the relay up to `localHeight`: asks its height, reads the missing blocks from `read(from, to)`
   * (inclusive) and pushes them. Resolves to the relay's head.
   */
  async catchUp(localHeight: number, read: (from: number, to: number) => Promise<readonly Block[]>): Promise<LedgerHead> {
    const head = await this.head();
    if (head.height >= localHeight) return head;
    let last: LedgerHead = head;
    for (let from = head.height + 1; from <= localHeight; from += MAX_BLOCKS_PER_PUSH) {
      const to = Math.min(localHeight, from + MAX_BLOCKS_PER_PUSH - 1);
      last = await this.pushBlocks(await read(from, to));
    }
    return last;
  }

  /** Opens an enrolment at the relay for the code whose sha-256 is `codeHash` (hex), until `expiresAt`. */
  async registerEnrolment(codeHash: string, expiresAt: number): Promise<void> {
    await this.request('POST', '/v1/enrolments', JSON.stringify({ codeHash, expiresAt }));
  }

  private async request(method: 'GET' | 'POST', path: string, body?: Uint8Array | string): Promise<unknown> {
    const token = createRelayToken({ secretKey: this.opts.secretKey, relayUrl: this.ws, expiresAt: Date.now() + (this.opts.tokenLifetimeMs ?? 60_000) });
    const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers['Content-Type'] = typeof body === 'string' ? 'application/json' : 'application/octet-stream';
    let res: Response;
    try {
      res = await this.fetch(`${this.http}${path}`, { method, headers, body: body as BodyInit | undefined, cache: 'no-store' });
    } catch {
      throw new RelayClientError('unreachable', '', 0);
    }
    let json: Record<string, unknown>;
    try {
      json = (await res.json()) as Record<string, unknown>;
    } catch {
      throw new RelayClientError('bad-response', '', res.status);
    }
    if (res.ok) return json;
    const reason = typeof json.error === 'string' ? json.error : '';
    const height = typeof json.height === 'number' ? json.height : undefined;
    if (res.status === 401 || res.status === 403) throw new RelayClientError('unauthorized', reason, res.status, height);
    if (res.status === 409 && reason === 'gap') throw new RelayClientError('gap', reason, res.status, height);
    if (res.status === 422) throw new RelayClientError('refused-block', reason, res.status, height);
    throw new RelayClientError('refused', reason, res.status, height);
  }
}

function checkHead(body: unknown): LedgerHead & Partial<PushResult> {
  const b = body as Partial<PushResult>;
  if (typeof b.height !== 'number' || typeof b.hash !== 'string') throw new RelayClientError('bad-response', '', 200);
  return b as LedgerHead & Partial<PushResult>;
}
