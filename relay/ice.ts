// The ICE servers the relay hands to browsers (GET /v1/config), so tablets behind NAT reach each other:
//  - ICE_SERVERS, a JSON array of RTCIceServer ({ urls, username?, credential? }), as is;
//  - or, with coturn's `use-auth-secret`, TURN_SECRET and TURN_URLS: short-lived credentials minted per
//    request (the TURN REST convention: username = "<expiry seconds>:<label>", credential =
//    base64(HMAC-SHA1(secret, username))), so no long-lived TURN password is ever served.
// A server with credentials is given only to an authenticated caller (TURN is a bandwidth bill); STUN servers
// and anything without credentials are given to anyone.

import { createHmac } from 'node:crypto';

export interface IceServer {
  readonly urls: string | string[];
  readonly username?: string;
  readonly credential?: string;
}

export class IceConfigError extends Error {
  override readonly name = 'IceConfigError';
  constructor(message: string, variable = 'ICE_SERVERS') {
    super(`${variable}: ${message}`);
  }
}

const ICE_URL = /^(stun|stuns|turn|turns):[^\s]+$/;
const MAX_SERVERS = 16;

/** Parses ICE_TRANSPORT_POLICY: 'all' (default) or 'relay' (TURN only); anything else is refused. */
export function parseIceTransportPolicy(raw: string | undefined): 'all' | 'relay' {
  if (raw === undefined || raw === '' || raw === 'all') return 'all';
  if (raw === 'relay') return 'relay';
  throw new IceConfigError("'all' or 'relay'", 'ICE_TRANSPORT_POLICY');
}

/** Parses ICE_SERVERS (undefined or '' means none); throws IceConfigError naming what is wrong. */
export function parseIceServers(json: string | undefined): IceServer[] {
  if (json === undefined || json.trim() === '') return [];
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    throw new IceConfigError('not JSON');
  }
  if (!Array.isArray(doc) || doc.length > MAX_SERVERS) throw new IceConfigError(`a JSON array of at most ${MAX_SERVERS} RTCIceServer objects`);
  return doc.map((s: unknown, i): IceServer => {
    if (typeof s !== 'object' || s === null) throw new IceConfigError(`[${i}] is not an object`);
    const { urls, username, credential } = s as Record<string, unknown>;
    const list = typeof urls === 'string' ? [urls] : urls;
    if (!Array.isArray(list) || list.length === 0 || list.some((u) => typeof u !== 'string' || !ICE_URL.test(u))) {
      throw new IceConfigError(`[${i}].urls must be stun:, stuns:, turn: or turns: URLs`);
    }
    const turn = list.some((u: string) => u.startsWith('turn'));
    if (turn && (typeof username !== 'string' || typeof credential !== 'string')) throw new IceConfigError(`[${i}] is a TURN server: it needs username and credential`);
    if ((username !== undefined && typeof username !== 'string') || (credential !== undefined && typeof credential !== 'string')) {
      throw new IceConfigError(`[${i}].username and .credential are strings`);
    }
    return { urls: urls as string | string[], ...(username !== undefined ? { username } : {}), ...(credential !== undefined ? { credential } : {}) };
  });
}

export interface TurnSecret {
  readonly secret: string;
  readonly urls: string[];
  /** Lifetime of minted credentials (default one hour). */
  readonly ttlSeconds?: number;
}

/** Parses TURN_SECRET and TURN_URLS (both or neither). */
export function parseTurnSecret(secret: string | undefined, urls: string | undefined): TurnSecret | null {
  if (!secret && !urls) return null;
  if (!secret || !urls) throw new IceConfigError('TURN_SECRET and TURN_URLS go together');
  const list = urls
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  if (list.length === 0 || list.some((u) => !/^turns?:[^\s]+$/.test(u))) throw new IceConfigError('TURN_URLS must be turn: or turns: URLs, comma-separated');
  return { secret, urls: list };
}

/** TURN REST credentials for `label` (a key prefix), valid until now + ttl. */
export function turnCredential(t: TurnSecret, label: string, nowMs: number): IceServer {
  const username = `${Math.floor(nowMs / 1000) + (t.ttlSeconds ?? 3600)}:${label}`;
  const credential = createHmac('sha1', t.secret).update(username).digest('base64');
  return { urls: t.urls, username, credential };
}

/** What a caller gets: everything when authenticated (as `label`), else only servers without credentials. */
export function iceServersFor(configured: readonly IceServer[], turn: TurnSecret | null, label: string | null, nowMs: number): IceServer[] {
  if (label === null) return configured.filter((s) => s.credential === undefined);
  return [...configured, ...(turn ? [turnCredential(turn, label, nowMs)] : [])];
}
