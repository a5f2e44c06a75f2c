// The first application message two nodes exchange: a signed greeting, so the first screen can show that a
// peer's messages arrive and verify end to end (the transport authenticates the channel; this signs the
// message itself, as every ledger message will be).
//   body = uint(version 1) ‖ fixed32(from) ‖ fixed32(to) ‖ uint(seq) ‖ uint(sentAt ms)
//   wire = uint(tag 0x47) ‖ bytes(body) ‖ fixed64(signature over signingBytes('hygeia/node/greeting/v1', body))

import { Reader, Writer, signingBytes } from '../codec/index.ts';
import { ed25519Sign, ed25519Verify } from '../../../../wasm/index.ts';
import { parseHex, toHex } from '../util/index.ts';

export const GREETING_DOMAIN = 'hygeia/node/greeting/v1';
export const GREETING_TAG = 0x47;

export interface Greeting {
  readonly from: string;
  readonly to: string;
  readonly seq: number;
  readonly sentAt: number;
}

export function encodeGreeting(secretKey: Uint8Array, g: Greeting): Uint8Array {
  const from = parseHex(g.from, 32);
  const to = parseHex(g.to, 32);
  if (!from || !to) throw new RangeError('greeting keys must be 64 hex characters');
  const body = new Writer(96);
  body.uint(1);
  body.fixed(from);
  body.fixed(to);
  body.uint(g.seq);
  body.uint(g.sentAt);
  const b = body.finish();
  const w = new Writer(180);
  w.uint(GREETING_TAG);
  w.bytes(b);
  w.fixed(ed25519Sign(secretKey, signingBytes(GREETING_DOMAIN, b)));
  return w.finish();
}

export type GreetingCheck = { ok: true; greeting: Greeting } | { ok: false; reason: 'not-greeting' | 'malformed' | 'bad-signature' | 'wrong-sender' | 'wrong-recipient' };

/** Decodes and verifies a greeting that arrived from `sender` (the transport's authenticated id) for `self`. */
export function checkGreeting(bytes: Uint8Array, sender: string, self: string): GreetingCheck {
  if (bytes[0] !== GREETING_TAG) return { ok: false, reason: 'not-greeting' };
  const r = new Reader(bytes, 512);
  r.uint(255);
  const body = r.bytes(256);
  const sig = r.fixed(64);
  if (!r.end()) return { ok: false, reason: 'malformed' };
  const br = new Reader(body, 256);
  const version = br.uint(255);
  const from = br.fixed(32);
  const to = br.fixed(32);
  const seq = br.uint();
  const sentAt = br.uint();
  if (!br.end() || version !== 1) return { ok: false, reason: 'malformed' };
  const g: Greeting = { from: toHex(from), to: toHex(to), seq, sentAt };
  if (g.from !== sender) return { ok: false, reason: 'wrong-sender' };
  if (g.to !== self) return { ok: false, reason: 'wrong-recipient' };
  if (!ed25519Verify(from, signingBytes(GREETING_DOMAIN, body), sig)) return { ok: false, reason: 'bad-signature' };
  return { ok: true, greeting: g };
}
