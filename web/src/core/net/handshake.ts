// The identity handshake two peers run over their application data channel before any message is delivered,
// and the link protocol after it. Sans-IO: frames in, frames and a verdict out, so it is tested without a browser.
//
// Each side sends HELLO = uint(1) ‖ fixed32(publicKey) ‖ fixed32(fresh random nonce). On the peer's HELLO, once
// it knows the peer's key is a member, it answers PROOF = uint(2) ‖ fixed64(signature) over
//   signingBytes('hygeia/net/handshake/v1', fixed32(signerKey) ‖ fixed32(verifierKey) ‖ fixed32(signerNonce) ‖
//                fixed32(verifierNonce) ‖ str(signer's DTLS fingerprint) ‖ str(verifier's DTLS fingerprint))
// The verifier's nonce makes a proof unreplayable; the DTLS fingerprints are those of the certificates the
// browser actually negotiated (dtls-binding.ts), so a relay that swapped SDPs to sit in the middle, with its own
// certificate on each leg, cannot pass a proof along: each side would sign a fingerprint the other never saw.
//
// A key that is not (yet) a member is held, not refused: the node may learn from the ledger a moment later that
// it was admitted (recheckMembership), and the link completes then instead of after a reconnect. The adapter
// gives up on a link that stays unadmitted past its deadline.
//
// After a valid PROOF the peer's key is the `from` of everything it sends: messages in DATA/FIRST/MORE frames
// (framing.ts), and PING = uint(4) ‖ fixed8 answered by PONG = uint(5) ‖ the same 8 bytes (liveness). The
// channel is ordered and reliable, so a peer's PROOF always precedes its messages.

import { Reader, Writer, signingBytes } from '../codec/index.ts';
import { ed25519Sign, ed25519Verify } from '../../../../wasm/index.ts';
import { equalBytes, toHex } from '../util/index.ts';
import { FRAME_DATA, FRAME_FIRST, FRAME_MORE, Reassembler, ReassemblyBudget, type FramingFailure } from './framing.ts';
import type { PeerId } from './transport.ts';

export const HANDSHAKE_DOMAIN = 'hygeia/net/handshake/v1';

export const FRAME_HELLO = 1;
export const FRAME_PROOF = 2;
export const FRAME_PING = 4;
export const FRAME_PONG = 5;
export { FRAME_DATA, FRAME_FIRST, FRAME_MORE };

/** Why a link to a peer was dropped. Reasons only: never message contents. */
export type DropReason =
  | 'malformed' // a frame that does not decode
  | 'unexpected' // a frame out of order (PROOF before HELLO, data before PROOF)
  | 'nonce-changed' // a second HELLO with another key or nonce
  | 'self' // the peer claims our own key
  | 'not-member' // the key is not a member (and did not become one before the deadline)
  | 'bad-signature' // the PROOF does not verify
  | FramingFailure // a message too large, fragments out of order, the reassembly budget exhausted
  | 'dtls-unbound' // no single DTLS certificate fingerprint to bind the proof to
  | 'dtls-mismatch' // the SDP names another certificate than the one negotiated
  | 'duplicate' // a second live link for a member that already has one
  | 'removed' // the node dropped the peer (it left the consortium)
  | 'timeout'; // no valid PROOF in time (decided by the adapter)

export interface HandshakeIdentity {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export interface HandshakeOptions {
  readonly identity: HandshakeIdentity;
  /** sha-256 DTLS fingerprints of our certificate and of the peer's, as negotiated (uppercase hex, colons). */
  readonly localFingerprint: string;
  readonly remoteFingerprint: string;
  readonly isMember: (peer: PeerId) => boolean;
  /** 32 unpredictable bytes (crypto.getRandomValues). */
  readonly nonce: Uint8Array;
  /** Largest application message accepted (whole or reassembled). */
  readonly maxMessageBytes: number;
  /** Shared by every link of a node: what partial messages may hold together (default: this link alone). */
  readonly reassemblyBudget?: ReassemblyBudget;
}

export type HandshakeOutput =
  | { kind: 'send'; frame: Uint8Array }
  | { kind: 'awaiting-membership'; peer: PeerId }
  | { kind: 'authenticated'; peer: PeerId }
  | { kind: 'deliver'; peer: PeerId; bytes: Uint8Array }
  | { kind: 'pong'; data: Uint8Array }
  | { kind: 'fail'; reason: DropReason };

export class Handshake {
  private peerKey: Uint8Array | null = null;
  private peerNonce: Uint8Array | null = null;
  private peerHex: PeerId | null = null;
  /** The peer's PROOF verified (it may still wait for membership). */
  private peerProved = false;
  /** We answered the peer's HELLO with our PROOF. */
  private proofSent = false;
  private verified: PeerId | null = null;
  private failed: DropReason | null = null;
  private readonly hello: Uint8Array;
  private readonly reassembler: Reassembler;

  constructor(private readonly opts: HandshakeOptions) {
    if (opts.nonce.length !== 32) throw new RangeError('the handshake nonce must be 32 bytes');
    const w = new Writer(72);
    w.uint(FRAME_HELLO);
    w.fixed(opts.identity.publicKey);
    w.fixed(opts.nonce);
    this.hello = w.finish();
    this.reassembler = new Reassembler(opts.maxMessageBytes, opts.reassemblyBudget ?? new ReassemblyBudget(opts.maxMessageBytes));
  }

  /** The authenticated peer, once its PROOF verified and it is a member. */
  get peer(): PeerId | null {
    return this.verified;
  }

  /** The key the peer claims in its HELLO (not yet proven), if it sent one. */
  get claimedPeer(): PeerId | null {
    return this.peerHex;
  }

  get failure(): DropReason | null {
    return this.failed;
  }

  /** Our HELLO: sent when the channel opens, and again until the peer answers (a lost first frame). */
  helloFrame(): Uint8Array {
    return this.hello;
  }

  /** A liveness probe; the peer answers PONG with the same 8 bytes. */
  static ping(data: Uint8Array): Uint8Array {
    if (data.length !== 8) throw new RangeError('a ping carries 8 bytes');
    const out = new Uint8Array(9);
    out[0] = FRAME_PING;
    out.set(data, 1);
    return out;
  }

  receive(frame: Uint8Array): HandshakeOutput[] {
    if (this.failed) return [];
    if (frame.length === 0) return this.fail('malformed');
    const kind = frame[0];
    switch (kind) {
      case FRAME_HELLO:
        return this.onHello(frame);
      case FRAME_PROOF:
        return this.onProof(frame);
      case FRAME_DATA:
      case FRAME_FIRST:
      case FRAME_MORE: {
        if (!this.verified) return this.fail('unexpected');
        const r = this.reassembler.push(frame);
        if (r === null) return [];
        if ('fail' in r) return this.fail(r.fail);
        return [{ kind: 'deliver', peer: this.verified, bytes: r.message }];
      }
      case FRAME_PING:
      case FRAME_PONG: {
        if (!this.verified) return this.fail('unexpected');
        if (frame.length !== 9) return this.fail('malformed');
        if (kind === FRAME_PONG) return [{ kind: 'pong', data: frame.slice(1) }];
        const pong = frame.slice();
        pong[0] = FRAME_PONG;
        return [{ kind: 'send', frame: pong }];
      }
      default:
        return this.fail('malformed');
    }
  }

  /**
   * Asks `isMember` again for a peer held for membership; completes the handshake if it is a member now.
   * Nothing happens for a link that is not waiting.
   */
  recheckMembership(): HandshakeOutput[] {
    if (this.failed || this.verified || !this.peerHex || this.proofSent) return [];
    if (!this.opts.isMember(this.peerHex)) return [];
    return this.admitted();
  }

  /** Releases what a partial message holds (the link closed). */
  dispose(): void {
    this.reassembler.dispose();
  }

  private onHello(frame: Uint8Array): HandshakeOutput[] {
    const r = new Reader(frame, 128);
    r.uint(255);
    const key = r.fixed(32);
    const nonce = r.fixed(32);
    if (!r.end()) return this.fail('malformed');
    if (this.peerKey && this.peerNonce) {
      // A repeated HELLO (the peer did not hear us yet): answer again, but it may not change its claim.
      if (!equalBytes(key, this.peerKey) || !equalBytes(nonce, this.peerNonce)) return this.fail('nonce-changed');
      return this.proofSent ? [{ kind: 'send', frame: this.proof() }] : [];
    }
    if (equalBytes(key, this.opts.identity.publicKey)) return this.fail('self');
    this.peerKey = key;
    this.peerNonce = nonce;
    this.peerHex = toHex(key);
    if (!this.opts.isMember(this.peerHex)) return [{ kind: 'awaiting-membership', peer: this.peerHex }];
    return this.admitted();
  }

  /** The peer's key is a member: send our proof, and if its proof already verified, it is authenticated. */
  private admitted(): HandshakeOutput[] {
    this.proofSent = true;
    const out: HandshakeOutput[] = [{ kind: 'send', frame: this.proof() }];
    if (this.peerProved) out.push(this.authenticate());
    return out;
  }

  private onProof(frame: Uint8Array): HandshakeOutput[] {
    if (!this.peerKey || !this.peerNonce) return this.fail('unexpected');
    const r = new Reader(frame, 128);
    r.uint(255);
    const sig = r.fixed(64);
    if (!r.end()) return this.fail('malformed');
    if (this.peerProved) return []; // a duplicate answer to our repeated HELLO
    const body = transcript(this.peerKey, this.opts.identity.publicKey, this.peerNonce, this.opts.nonce, this.opts.remoteFingerprint, this.opts.localFingerprint);
    if (!ed25519Verify(this.peerKey, signingBytes(HANDSHAKE_DOMAIN, body), sig)) return this.fail('bad-signature');
    this.peerProved = true;
    return this.proofSent ? [this.authenticate()] : [];
  }

  private authenticate(): HandshakeOutput {
    this.verified = this.peerHex!;
    return { kind: 'authenticated', peer: this.verified };
  }

  private proof(): Uint8Array {
    const { identity } = this.opts;
    const body = transcript(identity.publicKey, this.peerKey!, this.opts.nonce, this.peerNonce!, this.opts.localFingerprint, this.opts.remoteFingerprint);
    const sig = ed25519Sign(identity.secretKey, signingBytes(HANDSHAKE_DOMAIN, body));
    const w = new Writer(72);
    w.uint(FRAME_PROOF);
    w.fixed(sig);
    return w.finish();
  }

  private fail(reason: DropReason): HandshakeOutput[] {
    this.failed = reason;
    this.reassembler.dispose();
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
