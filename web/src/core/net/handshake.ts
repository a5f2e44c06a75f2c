// The identity handshake two peers run over their application data channel before any message is delivered.
// Sans-IO: frames in, frames and a verdict out, so it is tested without a browser.
//
// Each side sends HELLO = uint(1) ‖ fixed32(publicKey) ‖ fixed32(fresh random nonce). On the peer's HELLO it
// answers PROOF = uint(2) ‖ fixed64(signature) over
//   signingBytes('hygeia/net/handshake/v1', fixed32(signerKey) ‖ fixed32(verifierKey) ‖ fixed32(signerNonce) ‖
//                fixed32(verifierNonce) ‖ str(signer's DTLS fingerprint) ‖ str(verifier's DTLS fingerprint))
// The verifier's nonce makes a proof unreplayable; the DTLS fingerprints (from the SDP each side applied) bind
// it to this very connection, so a relay that swapped SDPs to sit in the middle cannot pass a proof along.
// After a valid PROOF the peer's key is the `from` of everything it sends: DATA = uint(3) ‖ payload. The channel
// is ordered and reliable, so a peer's PROOF always precedes its DATA.

import { Reader, Writer, signingBytes } from '../codec/index.ts';
import { ed25519Sign, ed25519Verify } from './sign.ts';
import { toHex } from '../util/index.ts';
import type { PeerId } from './transport.ts';

export const HANDSHAKE_DOMAIN = 'hygeia/net/handshake/v1';

export const FRAME_HELLO = 1;
export const FRAME_PROOF = 2;
export const FRAME_DATA = 3;

export type HandshakeFailure =
  | 'malformed' // a frame that does not decode
  | 'unexpected' // a frame out of order (PROOF before HELLO, DATA before PROOF)
  | 'nonce-changed' // a second HELLO with another key or nonce
  | 'self' // the peer claims our own key
  | 'not-member' // the key is not a consortium member
  | 'bad-signature' // the PROOF does not verify
  | 'oversize' // a DATA frame larger than allowed
  | 'timeout'; // no valid PROOF in time (decided by the adapter)

export interface HandshakeIdentity {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export interface HandshakeOptions {
  readonly identity: HandshakeIdentity;
  /** sha-256 DTLS fingerprint of our side and of the peer's side, as the SDPs state them ('' if unknown). */
  readonly localFingerprint: string;
  readonly remoteFingerprint: string;
  readonly isMember: (peer: PeerId) => boolean;
  /** 32 unpredictable bytes (crypto.getRandomValues). */
  readonly nonce: Uint8Array;
  readonly maxMessageBytes: number;
}

export type HandshakeOutput =
  | { kind: 'send'; frame: Uint8Array }
  | { kind: 'authenticated'; peer: PeerId }
  | { kind: 'deliver'; peer: PeerId; bytes: Uint8Array }
  | { kind: 'fail'; reason: HandshakeFailure };

export class Handshake {
  private peerKey: Uint8Array | null = null;
  private peerNonce: Uint8Array | null = null;
  private verified: PeerId | null = null;
  private failed: HandshakeFailure | null = null;
  private readonly hello: Uint8Array;

  constructor(private readonly opts: HandshakeOptions) {
    if (opts.nonce.length !== 32) throw new RangeError('the handshake nonce must be 32 bytes');
    const w = new Writer(72);
    w.uint(FRAME_HELLO);
    w.fixed(opts.identity.publicKey);
    w.fixed(opts.nonce);
    this.hello = w.finish();
  }

  /** The authenticated peer, once its PROOF verified. */
  get peer(): PeerId | null {
    return this.verified;
  }

  get failure(): HandshakeFailure | null {
    return this.failed;
  }

  /** Our HELLO: sent when the channel opens, and again until the peer answers (a lost first frame). */
  helloFrame(): Uint8Array {
    return this.hello;
  }

  /** Wraps application bytes in a DATA frame. */
  static data(bytes: Uint8Array): Uint8Array {
    const out = new Uint8Array(bytes.length + 1);
    out[0] = FRAME_DATA;
    out.set(bytes, 1);
    return out;
  }

  receive(frame: Uint8Array): HandshakeOutput[] {
    if (this.failed) return [];
    if (frame.length === 0) return this.fail('malformed');
    const kind = frame[0];
    if (kind === FRAME_DATA) {
      if (!this.verified) return this.fail('unexpected');
      if (frame.length - 1 > this.opts.maxMessageBytes) return this.fail('oversize');
      return [{ kind: 'deliver', peer: this.verified, bytes: frame.slice(1) }];
    }
    if (kind === FRAME_HELLO) return this.onHello(frame);
    if (kind === FRAME_PROOF) return this.onProof(frame);
    return this.fail('malformed');
  }

  private onHello(frame: Uint8Array): HandshakeOutput[] {
    const r = new Reader(frame, 128);
    r.uint(255);
    const key = r.fixed(32);
    const nonce = r.fixed(32);
    if (!r.end()) return this.fail('malformed');
    if (this.peerKey && this.peerNonce) {
      // A repeated HELLO (the peer did not hear us yet): answer again, but it may not change its claim.
      if (!bytesEqual(key, this.peerKey) || !bytesEqual(nonce, this.peerNonce)) return this.fail('nonce-changed');
      return [{ kind: 'send', frame: this.proof() }];
    }
    const hex = toHex(key);
    if (bytesEqual(key, this.opts.identity.publicKey)) return this.fail('self');
    if (!this.opts.isMember(hex)) return this.fail('not-member');
    this.peerKey = key;
    this.peerNonce = nonce;
    return [{ kind: 'send', frame: this.proof() }];
  }

  private onProof(frame: Uint8Array): HandshakeOutput[] {
    if (!this.peerKey || !this.peerNonce) return this.fail('unexpected');
    const r = new Reader(frame, 128);
    r.uint(255);
    const sig = r.fixed(64);
    if (!r.end()) return this.fail('malformed');
    if (this.verified) return []; // a duplicate answer to our repeated HELLO
    const body = transcript(
      this.peerKey,
      this.opts.identity.publicKey,
      this.peerNonce,
      this.opts.nonce,
      this.opts.remoteFingerprint,
      this.opts.localFingerprint,
    );
    if (!ed25519Verify(this.peerKey, signingBytes(HANDSHAKE_DOMAIN, body), sig)) return this.fail('bad-signature');
    this.verified = toHex(this.peerKey);
    return [{ kind: 'authenticated', peer: this.verified }];
  }

  private proof(): Uint8Array {
    const { identity } = this.opts;
    const body = transcript(
      identity.publicKey,
      this.peerKey!,
      this.opts.nonce,
      this.peerNonce!,
      this.opts.localFingerprint,
      this.opts.remoteFingerprint,
    );
    const sig = ed25519Sign(identity.secretKey, signingBytes(HANDSHAKE_DOMAIN, body));
    const w = new Writer(72);
    w.uint(FRAME_PROOF);
    w.fixed(sig);
    return w.finish();
  }

  private fail(reason: HandshakeFailure): HandshakeOutput[] {
    this.failed = reason;
    return [{ kind: 'fail', reason }];
  }
}

function transcript(
  signerKey: Uint8Array,
  verifierKey: Uint8Array,
  signerNonce: Uint8Array,
  verifierNonce: Uint8Array,
  signerFingerprint: string,
  verifierFingerprint: string,
): Uint8Array {
  const w = new Writer(256);
  w.fixed(signerKey);
  w.fixed(verifierKey);
  w.fixed(signerNonce);
  w.fixed(verifierNonce);
  w.str(signerFingerprint);
  w.str(verifierFingerprint);
  return w.finish();
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** The sha-256 DTLS fingerprint an SDP states ('' if none), normalised to uppercase hex with colons. */
export function sdpFingerprint(sdp: string | undefined | null): string {
  if (!sdp) return '';
  const m = /a=fingerprint:sha-256 ([0-9A-Fa-f:]+)/.exec(sdp);
  return m ? m[1]!.toUpperCase() : '';
}
