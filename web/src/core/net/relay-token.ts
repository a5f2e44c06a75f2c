// Relay tokens. A stock y-webrtc client can only choose its signaling URL, so a member proves itself with a
// short-lived token in the URL's query (`?token=...`), and the relay's HTTP API takes the same token as a bearer
// credential. A token names the member's Ed25519 public key, the relay's origin (so a token for one relay is
// useless at another), an expiry of minutes, a random nonce (the relay accepts each token once: one token, one
// connection or request), and a scope ('' for a member; `enrol:<sha256(code) hex>` for a phone that holds a
// one-time enrolment code and is not registered yet), signed by the member's key.
//
// Wire form (canonical encoding, base64url without padding):
//   body  = uint(version = 2) ‖ fixed32(publicKey) ‖ str(relayOrigin) ‖ uint(expiresAt ms since epoch) ‖
//           fixed16(nonce) ‖ str(scope)
//   token = body ‖ fixed64(Ed25519 signature over signingBytes('hygeia/relay/token/v1', body))
// Tokens are secrets for their few minutes: never log them.

import { Reader, Writer, signingBytes } from '../codec/index.ts';
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from '../../../../wasm/index.ts';
import { fromBase64Url, toBase64Url } from '../util/index.ts';
import { toHex } from '../util/index.ts';

export const RELAY_TOKEN_DOMAIN = 'hygeia/relay/token/v1';
const VERSION = 2;
const NONCE_BYTES = 16;
const MAX_SCOPE_LENGTH = 128;
/** The scopes a token may carry: none, or enrolment with one code (its sha-256, hex). */
export const RELAY_TOKEN_SCOPE = /^(?:|enrol:[0-9a-f]{64})$/;
const MAX_TOKEN_BYTES = 512;
const MAX_ORIGIN_LENGTH = 255;

export type RelayTokenErrorCode = 'bad-url' | 'bad-key' | 'bad-expiry' | 'bad-scope' | 'malformed' | 'bad-signature' | 'expired' | 'too-long-lived' | 'wrong-relay';

/** Why a token could not be made or was refused. Messages never contain the token or any key. */
export class RelayTokenError extends Error {
  override readonly name = 'RelayTokenError';
  constructor(
    readonly code: RelayTokenErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The origin a token is bound to: `ws://host[:port]` or `wss://host[:port]`, lowercase, default port dropped. */
export function relayOrigin(relayUrl: string): string {
  let u: URL;
  try {
    u = new URL(relayUrl);
  } catch {
    throw new RelayTokenError('bad-url', 'the relay URL does not parse');
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new RelayTokenError('bad-url', 'the relay URL must be ws:// or wss://');
  const origin = `${u.protocol}//${u.host}`;
  if (origin.length > MAX_ORIGIN_LENGTH) throw new RelayTokenError('bad-url', 'the relay origin is too long');
  return origin;
}

export interface RelayTokenInput {
  /** The member's 32-byte Ed25519 secret key (seed). */
  readonly secretKey: Uint8Array;
  /** The relay's ws:// or wss:// URL; only its origin is bound. */
  readonly relayUrl: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  /** '' (default) or `enrol:<sha256(code) hex>`. */
  readonly scope?: string;
}

function encodeBody(publicKey: Uint8Array, origin: string, expiresAt: number, nonce: Uint8Array, scope: string): Uint8Array {
  const w = new Writer(192);
  w.uint(VERSION);
  w.fixed(publicKey);
  w.str(origin);
  w.uint(expiresAt);
  w.fixed(nonce);
  w.str(scope);
  return w.finish();
}

/** The scope of a phone enrolling with the code whose sha-256 is `codeHashHex`. */
export function enrolmentScope(codeHashHex: string): string {
  return `enrol:${codeHashHex}`;
}

/** Makes a token for `relayUrl`, valid until `expiresAt`. Needs `initCore()` first. */
export function createRelayToken({ secretKey, relayUrl, expiresAt, scope = '' }: RelayTokenInput): string {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) throw new RelayTokenError('bad-key', 'the secret key must be 32 bytes');
  if (!Number.isSafeInteger(expiresAt) || expiresAt <= 0) throw new RelayTokenError('bad-expiry', 'expiresAt must be a positive integer of milliseconds');
  if (!RELAY_TOKEN_SCOPE.test(scope)) throw new RelayTokenError('bad-scope', "the scope must be '' or enrol:<64 hex>");
  const origin = relayOrigin(relayUrl);
  const publicKey = ed25519PublicKey(secretKey);
  const nonce = new Uint8Array(NONCE_BYTES);
  globalThis.crypto.getRandomValues(nonce);
  const body = encodeBody(publicKey, origin, expiresAt, nonce, scope);
  const sig = ed25519Sign(secretKey, signingBytes(RELAY_TOKEN_DOMAIN, body));
  const token = new Uint8Array(body.length + sig.length);
  token.set(body);
  token.set(sig, body.length);
  return toBase64Url(token);
}

export interface RelayTokenClaims {
  /** Lowercase hex of the member's public key. */
  readonly publicKey: string;
  readonly relayOrigin: string;
  readonly expiresAt: number;
  readonly scope: string;
}

export interface DecodedRelayToken extends RelayTokenClaims {
  /** Hex of the token's nonce: with the key, what makes a token single-use. */
  readonly nonce: string;
  readonly body: Uint8Array;
  readonly signature: Uint8Array;
  readonly publicKeyBytes: Uint8Array;
}

/** Decodes a token without checking its signature (what a UI may show). Throws RelayTokenError('malformed'). */
export function decodeRelayToken(token: string): DecodedRelayToken {
  if (typeof token !== 'string' || token.length > Math.ceil((MAX_TOKEN_BYTES * 4) / 3)) {
    throw new RelayTokenError('malformed', 'the token is not a string of acceptable length');
  }
  const bytes = fromBase64Url(token);
  if (!bytes) throw new RelayTokenError('malformed', 'the token is not canonical base64url');
  try {
    const r = new Reader(bytes, MAX_TOKEN_BYTES);
    const version = Number(r.uint(255));
    const publicKeyBytes = r.fixed(32);
    const origin = r.str(MAX_ORIGIN_LENGTH);
    const expiresAt = Number(r.uint(Number.MAX_SAFE_INTEGER));
    const nonce = r.fixed(NONCE_BYTES);
    const scope = r.str(MAX_SCOPE_LENGTH);
    const bodyLength = bytes.length - r.remaining();
    const signature = r.fixed(64);
    if (!r.end() || version !== VERSION || !RELAY_TOKEN_SCOPE.test(scope)) throw new RelayTokenError('malformed', 'the token does not decode');
    return {
      publicKey: toHex(publicKeyBytes),
      publicKeyBytes,
      relayOrigin: origin,
      expiresAt,
      scope,
      nonce: toHex(nonce),
      body: bytes.subarray(0, bodyLength),
      signature,
    };
  } catch (err) {
    if (err instanceof RelayTokenError) throw err;
    throw new RelayTokenError('malformed', 'the token does not decode');
  }
}

export interface VerifyRelayTokenOptions {
  /** Origins this relay answers to (relayOrigin() of each public URL). */
  readonly origins: readonly string[];
  /** Milliseconds since the epoch. */
  readonly now: number;
  /** Longest lifetime accepted from now. */
  readonly maxLifetimeMs: number;
  /** Skew tolerated on both bounds. */
  readonly clockSkewMs: number;
}

/** The cheap checks of a decoded token: origin and expiry (no signature). Throws RelayTokenError. */
export function checkRelayTokenClaims(t: RelayTokenClaims, opts: VerifyRelayTokenOptions): void {
  if (!opts.origins.includes(t.relayOrigin)) throw new RelayTokenError('wrong-relay', 'the token is bound to another relay');
  if (t.expiresAt + opts.clockSkewMs < opts.now) throw new RelayTokenError('expired', 'the token has expired');
  if (t.expiresAt > opts.now + opts.maxLifetimeMs + opts.clockSkewMs) {
    throw new RelayTokenError('too-long-lived', 'the token lives longer than this relay allows');
  }
}

/** The Ed25519 check of a decoded token (the expensive one: run it last). Throws RelayTokenError. */
export function checkRelayTokenSignature(t: DecodedRelayToken): void {
  if (!ed25519Verify(t.publicKeyBytes, signingBytes(RELAY_TOKEN_DOMAIN, t.body), t.signature)) {
    throw new RelayTokenError('bad-signature', 'the token signature does not verify');
  }
}

/** Checks a token's encoding, origin, expiry and signature. Membership and single use are the caller's checks. */
export function verifyRelayToken(token: string, opts: VerifyRelayTokenOptions): RelayTokenClaims {
  const t = decodeRelayToken(token);
  checkRelayTokenClaims(t, opts);
  checkRelayTokenSignature(t);
  return { publicKey: t.publicKey, relayOrigin: t.relayOrigin, expiresAt: t.expiresAt, scope: t.scope };
}

/** Puts a token into a signaling URL's query, replacing any earlier one. */
export function withToken(relayUrl: string, token: string): string {
  const u = new URL(relayUrl);
  u.searchParams.set('token', token);
  return u.toString();
}
