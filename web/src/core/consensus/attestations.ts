// Gathering block attestations (ledger/attestation.ts) on CHANNEL_ATTEST. After executing block h, a validator
// of h's epoch signs it and broadcasts the signature; a quorum of signatures for the block this node executed
// is its attestation certificate, stored beside the block and served with it.
//
// A peer can fill nothing without bound: attestations are kept only for a window of heights around the tip
// (farther ones are dropped, and tell the node it is behind), at most a window's worth per sender; only the
// validator an attestation names may send it; signatures are checked once per height and signer, and not at
// all once the height is certified (late votes are normal and ignored unread). Forged, duplicate,
// wrong-epoch and conflicting attestations are refused with a typed reason and counted.

import {
  attestationSigningBytes,
  blockHash,
  decodeAttestation,
  encodeAttestation,
  encodeAttestationCertificate,
  quorumSize,
  verifyAttestation,
  type Attestation,
  type BlockHeader,
  type Epoch,
  type SignatureVerifier,
} from '../ledger/index.ts';
import type { PeerId } from '../net/index.ts';
import { equalBytes } from '../util/index.ts';
import { decodeAttestMessage, encodeAttestMessage } from './frames.ts';
import type { ConsensusEvent } from './types.ts';

export type AttestationRejectReason =
  | 'malformed' // does not decode
  | 'not-signer' // the sender is not the validator the attestation names (in that epoch)
  | 'wrong-epoch' // signed in another epoch than the one of its height
  | 'too-far-ahead' // beyond the window above our tip (dropped; we may be behind)
  | 'stale' // below the window this node keeps
  | 'duplicate' // this signer already attested this height
  | 'bad-signature' // does not verify for the block it names in its epoch
  | 'buffer-full'; // the sender's share of the buffer for heights above our tip is used up

export interface AttestationHost {
  /** The height the app is at. */
  tipHeight(): number;
  /** The hash and header of a block this node holds (executed or verified), if any. */
  header(height: number): BlockHeader | undefined;
  hashAt(height: number): Uint8Array | undefined;
  /** The epoch that certifies `height`, as far as this node knows; and the epoch it is in now. */
  epochOf(height: number): Epoch;
  currentEpoch(): Epoch;
  /** The PeerId of validator `index` of `epoch`. */
  peerOf(epoch: Epoch, index: number): PeerId;
  /** This node's index in `epoch`'s validators, or -1. */
  selfIndex(epoch: Epoch): number;
  broadcast(bytes: Uint8Array): void;
  send(to: PeerId, bytes: Uint8Array): void;
  store(height: number, certificate: Uint8Array): void;
  emit(e: ConsensusEvent): void;
  /** A peer attested a height far above ours: we are behind. */
  behind(from: PeerId, height: number): void;
}

export interface AttestationOptions {
  /** Signs with this node's validator key; without it the node gathers but never attests. */
  readonly sign?: (message: Uint8Array) => Uint8Array;
  readonly verify: SignatureVerifier;
  /** Heights above the tip for which attestations are buffered (default 64). */
  readonly ahead?: number;
  /** Heights below the tip still gathering (default 64). */
  readonly behind?: number;
}

interface Pending {
  readonly from: PeerId;
  readonly a: Attestation;
}

interface Height {
  /** Signers already counted or refused at this height (a second attestation from one is a duplicate). */
  readonly seen: Set<number>;
  /** The certificate, once there is one (kept while the height is in the window, to answer late voters). */
  certificate: Uint8Array | null;
  /** Peers already sent the certificate (once each). */
  readonly answered: Set<PeerId>;
  /** Verified signatures for the block this node holds at this height. */
  readonly good: Map<number, Uint8Array>;
  /** Attestations for a height above the tip, waiting for this node's own block. */
  pending: Pending[];
  certified: boolean;
}

export class AttestationPool {
  private readonly heights = new Map<number, Height>();
  private readonly pendingBySender = new Map<PeerId, number>();
  private readonly ahead: number;
  private readonly behindWindow: number;
  readonly counters = { signed: 0, certified: 0, adopted: 0, conflicts: 0, rejected: {} as Partial<Record<AttestationRejectReason, number>> };

  constructor(
    private readonly host: AttestationHost,
    private readonly opts: AttestationOptions,
  ) {
    this.ahead = opts.ahead ?? 64;
    this.behindWindow = opts.behind ?? 64;
  }

  /** This node executed block `height` (live, not a replay): attest it if a validator of its epoch, settle what waited. */
  onExecuted(height: number, hash: Uint8Array, attest: boolean): void {
    const epoch = this.host.epochOf(height);
    const h = this.slot(height);
    const self = this.host.selfIndex(epoch);
    if (attest && this.opts.sign && self >= 0 && !h.certified) {
      const signature = this.opts.sign(attestationSigningBytes(epoch.id, hash));
      this.counters.signed++;
      h.seen.add(self);
      h.good.set(self, signature);
      const vote = encodeAttestation({ epoch: epoch.number, height, blockHash: hash, signer: self, signature });
      this.host.broadcast(encodeAttestMessage({ type: 'vote', attestation: vote }));
    }
    const waiting = h.pending;
    h.pending = [];
    for (const p of waiting) {
      this.release(p.from);
      this.count(p.from, p.a, epoch, hash, h);
    }
    this.tryCertify(height, hash, epoch, h);
    this.prune();
  }

  /** A frame on CHANNEL_ATTEST from a peer. */
  onMessage(from: PeerId, bytes: Uint8Array): void {
    let a: Attestation;
    try {
      const m = decodeAttestMessage(bytes);
      if (m.type === 'certificate') {
        this.onCertificate(from, m.height, m.blockHash, m.certificate);
        return;
      }
      a = decodeAttestation(m.attestation);
    } catch {
      this.reject('malformed', from, 0);
      return;
    }
    const tip = this.host.tipHeight();
    if (a.height > tip + this.ahead) {
      this.reject('too-far-ahead', from, a.height);
      this.host.behind(from, a.height);
      return;
    }
    if (a.height < tip - this.behindWindow) {
      if (!this.heights.get(a.height)?.certified) this.reject('stale', from, a.height);
      return;
    }
    const h = this.heights.get(a.height);
    if (h?.certified) {
      // Late votes are normal and ignored unread; but a validator that votes this late executed the block late
      // and will not gather the quorum itself: send it the certificate, once.
      if (h.certificate && !h.answered.has(from) && equalBytes(a.blockHash, this.host.hashAt(a.height) ?? new Uint8Array())) {
        h.answered.add(from);
        this.host.send(from, encodeAttestMessage({ type: 'certificate', height: a.height, blockHash: a.blockHash, certificate: h.certificate }));
      }
      return;
    }
    const hash = a.height <= tip ? this.host.hashAt(a.height) : undefined;
    if (a.height <= tip && !hash) return this.reject('stale', from, a.height); // a block we do not hold
    if (!hash) {
      // Above our tip: its epoch is ours or the next; only the named validator may send it, and each sender
      // gets a bounded share of the buffer.
      const cur = this.host.currentEpoch();
      if (a.epoch !== cur.number && a.epoch !== cur.number + 1) return this.reject('wrong-epoch', from, a.height);
      if (a.epoch === cur.number && this.host.peerOf(cur, a.signer) !== from) return this.reject('not-signer', from, a.height);
      const slot = this.slot(a.height);
      if (slot.pending.some((p) => p.a.signer === a.signer && p.from === from)) return this.reject('duplicate', from, a.height);
      const used = this.pendingBySender.get(from) ?? 0;
      if (used >= this.ahead) return this.reject('buffer-full', from, a.height);
      this.pendingBySender.set(from, used + 1);
      slot.pending.push({ from, a });
      this.host.behind(from, a.height);
      return;
    }
    const epoch = this.host.epochOf(a.height);
    const slot = this.slot(a.height);
    this.count(from, a, epoch, hash, slot);
    this.tryCertify(a.height, hash, epoch, slot);
  }

  /**
   * A certificate that came with a block from a peer (state transfer, following): kept if it verifies for
   * that block against the validators of its height. Returns whether it did.
   */
  adopt(header: BlockHeader, certificate: Uint8Array | null): boolean {
    if (!certificate) return false;
    const epoch = this.host.epochOf(header.height);
    const check = verifyAttestation(header, certificate, epoch.validators, epoch.id, this.opts.verify);
    if (!check.ok) return false;
    const slot = this.heights.get(header.height);
    if (slot) {
      slot.certified = true;
      slot.certificate = certificate;
    }
    this.counters.adopted++;
    this.host.store(header.height, certificate);
    this.host.emit({ kind: 'attested', height: header.height, hash: check.hash, certificate });
    return true;
  }

  /**
   * A certificate for a block above our tip, made from the votes this node buffered for it: for a block fetched
   * from a peer that served it before its own quorum formed. Validators broadcast their votes to every member,
   * so a node that does not execute live (its replica alone in a later view, or no replica) hears the same
   * quorum its peers do. Only votes from the validator they name, for this block, with a good signature count.
   */
  assemble(header: BlockHeader): Uint8Array | null {
    const slot = this.heights.get(header.height);
    if (!slot || slot.pending.length === 0) return null;
    const epoch = this.host.epochOf(header.height);
    const need = quorumSize(epoch.validators.length);
    if (this.votersAt(header.height) < need) return null;
    const hash = blockHash(header);
    const good = new Map<number, Uint8Array>();
    for (const { from, a } of slot.pending) {
      if (good.has(a.signer) || a.epoch !== epoch.number || a.signer >= epoch.validators.length) continue;
      if (this.host.peerOf(epoch, a.signer) !== from || !equalBytes(a.blockHash, hash)) continue;
      if (this.opts.verify(epoch.validators[a.signer]!, attestationSigningBytes(epoch.id, hash), a.signature)) good.set(a.signer, a.signature);
    }
    if (good.size < need) return null;
    return encodeAttestationCertificate([...good].map(([signer, signature]) => ({ signer, signature })));
  }

  /** How many distinct validators' votes (not yet checked) this node holds for a height above its tip. */
  votersAt(height: number): number {
    const slot = this.heights.get(height);
    return slot ? new Set(slot.pending.map((p) => p.a.signer)).size : 0;
  }

  /** A whole certificate from a peer, for a block this node holds and has none for: kept if it verifies. */
  private onCertificate(from: PeerId, height: number, hash: Uint8Array, certificate: Uint8Array): void {
    const mine = this.host.hashAt(height);
    const header = this.host.header(height);
    const slot = this.heights.get(height);
    if (!mine || !header || !equalBytes(mine, hash) || slot?.certified) return; // not asked for, or already had
    if (!this.adopt(header, certificate)) this.reject('bad-signature', from, height);
  }

  /** Refusals so far, by reason (for the security layer). */
  rejections(): Partial<Record<AttestationRejectReason, number>> {
    return { ...this.counters.rejected };
  }

  private count(from: PeerId, a: Attestation, epoch: Epoch, hash: Uint8Array, h: Height): void {
    if (a.epoch !== epoch.number) return this.reject('wrong-epoch', from, a.height);
    if (a.signer >= epoch.validators.length || this.host.peerOf(epoch, a.signer) !== from) return this.reject('not-signer', from, a.height);
    if (h.seen.has(a.signer)) return this.reject('duplicate', from, a.height);
    h.seen.add(a.signer);
    if (!this.opts.verify(epoch.validators[a.signer]!, attestationSigningBytes(epoch.id, a.blockHash), a.signature)) {
      return this.reject('bad-signature', from, a.height);
    }
    if (!equalBytes(a.blockHash, hash)) {
      // A validator signed another block at a height this node executed: evidence (against it, or against us).
      this.counters.conflicts++;
      this.host.emit({ kind: 'attestationConflict', height: a.height, from, ours: hash, theirs: a.blockHash });
      return;
    }
    h.good.set(a.signer, a.signature);
  }

  private tryCertify(height: number, hash: Uint8Array, epoch: Epoch, h: Height): void {
    if (h.certified || h.good.size < quorumSize(epoch.validators.length)) return;
    h.certified = true;
    const certificate = encodeAttestationCertificate([...h.good].map(([signer, signature]) => ({ signer, signature })));
    h.certificate = certificate;
    h.good.clear();
    this.counters.certified++;
    this.host.store(height, certificate);
    this.host.emit({ kind: 'attested', height, hash, certificate });
  }

  private reject(reason: AttestationRejectReason, from: PeerId, height: number): void {
    this.counters.rejected[reason] = (this.counters.rejected[reason] ?? 0) + 1;
    this.host.emit({ kind: 'attestationRejected', reason, from, height });
  }

  private slot(height: number): Height {
    let h = this.heights.get(height);
    if (!h) {
      h = { seen: new Set(), good: new Map(), pending: [], certified: false, certificate: null, answered: new Set() };
      this.heights.set(height, h);
    }
    return h;
  }

  private release(from: PeerId): void {
    const used = this.pendingBySender.get(from) ?? 0;
    if (used <= 1) this.pendingBySender.delete(from);
    else this.pendingBySender.set(from, used - 1);
  }

  /** Forgets heights that fell below the window (and what their senders had buffered). */
  private prune(): void {
    const floor = this.host.tipHeight() - this.behindWindow;
    for (const [height, h] of this.heights) {
      if (height >= floor) continue;
      for (const p of h.pending) this.release(p.from);
      this.heights.delete(height);
    }
  }

  /** Heights tracked now (for tests: the buffer stays bounded). */
  get tracked(): number {
    return this.heights.size;
  }
}
