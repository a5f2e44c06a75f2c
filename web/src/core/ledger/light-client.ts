// What a patient's phone (and the relay, for single leaves) runs: it starts from the genesis validators and
// trusts a block header only with a valid attestation certificate (a quorum of the validators of the header's
// epoch signed its hash, state root included). It never replaces a header it accepted: another header at the
// same height, or one that does not link to its accepted neighbours, is an error and kept as evidence. It
// trusts state only through Merkle state proofs against the state root of an accepted header, and follows
// validator changes the same way: a `consensus` leaf proven at an accepted block names the next epoch. It
// never trusts the node it talks to: a node can withhold, not forge.

import { ed25519Verify } from '../../../../wasm/index.ts';
import { verifyAttestation, type AttestationDefect } from './attestation.ts';
import { BLOCK_VERSION, HASH_BYTES, blockHash, genesisHash as genesisHashOf, type BlockHeader } from './block.ts';
import type { SignatureVerifier } from './certificate.ts';
import { CONSENSUS_KEY, verifyStateProof, type ConsensusLeaf, type StateProofPath } from './contracts/index.ts';
import { effectiveSchedule, epochId, genesisEpoch, type Epoch } from './epoch.ts';
import { verifyTxProof, type TxProof } from './verify.ts';
import { equalBytes, fromHex } from '../util/index.ts';

export type HeaderRejectReason =
  | 'malformed' // wrong version or field sizes, height 0
  | 'conflicting-header' // another header is accepted at this height: evidence, never an update
  | 'chain-mismatch' // does not link to an accepted neighbour by prevHash: evidence
  | AttestationDefect; // no valid quorum of the validators of its epoch

export type HeaderCheck = { readonly ok: true; readonly hash: Uint8Array } | { readonly ok: false; readonly reason: HeaderRejectReason };

export type TxCheck = { readonly ok: true; readonly header: BlockHeader } | { readonly ok: false; readonly reason: 'unknown-block' | 'proof-mismatch' };

export type EpochCheck =
  | { readonly ok: true; readonly epoch: Epoch; readonly changed: boolean }
  | {
      readonly ok: false;
      readonly reason:
        | 'unknown-block' // no accepted header at that height
        | 'proof-mismatch' // the leaf is not in the state under that header's state root
        | 'malformed-leaf' // the leaf does not name an epoch and its validators
        | 'not-sequential'; // it names an epoch that does not follow the newest known one
    };

/** Two attested headers that cannot both be the chain: what a phone reports (a fork or a lying node). */
export interface HeaderEvidence {
  readonly height: number;
  readonly reason: 'conflicting-header' | 'chain-mismatch';
  readonly accepted: Uint8Array;
  readonly offered: BlockHeader;
  readonly attestation: Uint8Array;
}

export interface LightClientOptions {
  /** K, from genesis: epochs start at multiples of it. */
  readonly checkpointInterval: number;
  /** The chain's genesis hash; default genesisHash(validators). */
  readonly genesisHash?: Uint8Array;
  /** Ed25519 verification; default the wasm core's. */
  readonly verifySignature?: SignatureVerifier;
  /** Accepted headers kept (default 100,000; the lowest go first). */
  readonly maxHeaders?: number;
}

const MAX_EVIDENCE = 64;

export class LightClient {
  private readonly epochList: Epoch[];
  private readonly headers = new Map<number, { header: BlockHeader; hash: Uint8Array }>();
  private readonly evidenceList: HeaderEvidence[] = [];
  private readonly K: number;
  private readonly genesis: Uint8Array;
  private readonly verify: SignatureVerifier;
  private readonly maxHeaders: number;

  constructor(genesisValidators: readonly Uint8Array[], opts: LightClientOptions) {
    if (genesisValidators.length < 1 || genesisValidators.some((k) => k.length !== 32)) {
      throw new RangeError('a validator set is one or more 32-byte Ed25519 public keys');
    }
    if (!Number.isSafeInteger(opts.checkpointInterval) || opts.checkpointInterval < 1) throw new RangeError('the checkpoint interval is a positive integer');
    this.K = opts.checkpointInterval;
    this.genesis = opts.genesisHash ?? genesisHashOf(genesisValidators);
    this.epochList = [genesisEpoch(genesisValidators, this.genesis)];
    this.verify = opts.verifySignature ?? ed25519Verify;
    this.maxHeaders = opts.maxHeaders ?? 100_000;
  }

  /** The epochs this client knows, oldest first (epoch 0 from genesis). */
  get epochs(): readonly Epoch[] {
    return this.epochList;
  }

  /**
   * The epoch whose validators must attest block `height`: the newest known one that began before it. (Honest
   * validators attest only blocks of their own epoch, under its id, so a quorum of an older epoch's
   * validators cannot certify a block past that epoch's end; such a header just fails until the client
   * learns the later epoch.)
   */
  epochOf(height: number): Epoch {
    for (let i = this.epochList.length - 1; i > 0; i--) if (this.epochList[i]!.since < height) return this.epochList[i]!;
    return this.epochList[0]!;
  }

  /** Headers that could not be accepted because another one was (kept as evidence, at most 64). */
  get evidence(): readonly HeaderEvidence[] {
    return this.evidenceList;
  }

  /**
   * Accepts a header with its attestation certificate (what a node serves a light client). Idempotent for
   * the same header; another header at an accepted height, or one that does not link to an accepted
   * neighbour, is refused and kept as evidence.
   */
  acceptHeader(header: BlockHeader, attestation: Uint8Array): HeaderCheck {
    if (
      header.version !== BLOCK_VERSION ||
      !Number.isSafeInteger(header.height) ||
      header.height < 1 ||
      [header.prevHash, header.batchDigest, header.txRoot, header.stateRoot].some((h) => h.length !== HASH_BYTES)
    ) {
      return { ok: false, reason: 'malformed' };
    }
    const hash = blockHash(header);
    const have = this.headers.get(header.height);
    if (have && equalBytes(have.hash, hash)) return { ok: true, hash };
    const epoch = this.epochOf(header.height);
    const check = verifyAttestation(header, attestation, epoch.validators, epoch.id, this.verify);
    if (!check.ok) return check;
    // Attested, yet it contradicts what was accepted: two quorums disagree (or the chain forked). Never swap.
    if (have) return this.refuse('conflicting-header', have.hash, header, attestation);
    const below = this.headers.get(header.height - 1);
    if (below && !equalBytes(below.hash, header.prevHash)) return this.refuse('chain-mismatch', below.hash, header, attestation);
    if (header.height === 1 && !equalBytes(header.prevHash, this.genesis)) return this.refuse('chain-mismatch', this.genesis, header, attestation);
    const above = this.headers.get(header.height + 1);
    if (above && !equalBytes(above.header.prevHash, hash)) return this.refuse('chain-mismatch', above.hash, header, attestation);
    this.headers.set(header.height, { header, hash });
    if (this.headers.size > this.maxHeaders) this.headers.delete(Math.min(...this.headers.keys()));
    return { ok: true, hash };
  }

  /** The accepted header at `height`, if any (every accepted header is attested). */
  header(height: number): BlockHeader | undefined {
    return this.headers.get(height)?.header;
  }

  /** The state root after block `height`, only for an accepted (attested) header. */
  certifiedStateRoot(height: number): Uint8Array | undefined {
    return this.headers.get(height)?.header.stateRoot;
  }

  /** Checks that `tx` is in an accepted block, at the position the proof names. */
  verifyTransaction(tx: Uint8Array, proof: TxProof): TxCheck {
    const header = this.header(proof.height);
    if (!header) return { ok: false, reason: 'unknown-block' };
    return verifyTxProof(header, tx, proof) ? { ok: true, header } : { ok: false, reason: 'proof-mismatch' };
  }

  /** Whether `key` holds `value` (null: is absent) in the state after accepted block `height`. */
  verifyState(height: number, key: string, value: unknown, proof: StateProofPath): boolean {
    const root = this.certifiedStateRoot(height);
    return root !== undefined && verifyStateProof(root, key, value, proof);
  }

  /**
   * Follows a validator change: the `consensus` leaf proven in the state after accepted block `height`. If,
   * by the epoch rule, it puts a new epoch in force by then (its `next` has taken effect, or was folded in),
   * that epoch becomes known and certifies the blocks after its start. A leaf of the newest known epoch
   * changes nothing. Send the header of the epoch's first checkpoint E (still attested by the old epoch) and
   * the leaf proven there.
   */
  acceptConsensusLeaf(height: number, leaf: ConsensusLeaf, proof: StateProofPath): EpochCheck {
    const root = this.certifiedStateRoot(height);
    if (!root) return { ok: false, reason: 'unknown-block' };
    if (!verifyStateProof(root, CONSENSUS_KEY, leaf, proof)) return { ok: false, reason: 'proof-mismatch' };
    let schedule;
    try {
      schedule = scheduleOfLeaf(leaf);
    } catch {
      return { ok: false, reason: 'malformed-leaf' };
    }
    const e = effectiveSchedule(schedule, height);
    const newest = this.epochList[this.epochList.length - 1]!;
    if (e.epoch <= newest.number) {
      const known = this.epochList.find((x) => x.number === e.epoch);
      return known ? { ok: true, epoch: known, changed: false } : { ok: false, reason: 'not-sequential' };
    }
    if (e.epoch !== newest.number + 1 || e.since <= newest.since || e.since % this.K !== 0 || e.since > height) {
      return { ok: false, reason: 'not-sequential' };
    }
    const epoch: Epoch = { number: e.epoch, since: e.since, validators: e.validators, id: epochId(e.epoch, this.genesis, e.since, e.validators) };
    this.epochList.push(epoch);
    return { ok: true, epoch, changed: true };
  }

  private refuse(reason: HeaderEvidence['reason'], accepted: Uint8Array, offered: BlockHeader, attestation: Uint8Array): HeaderCheck {
    if (this.evidenceList.length < MAX_EVIDENCE) this.evidenceList.push({ height: offered.height, reason, accepted, offered, attestation });
    return { ok: false, reason };
  }
}

/** The schedule a `consensus` leaf states (keys hex in the leaf); throws if it is not one. */
function scheduleOfLeaf(leaf: ConsensusLeaf): { epoch: number; validators: Uint8Array[]; since: number; next: { validators: Uint8Array[]; at: number } | null } {
  const keys = (v: unknown): Uint8Array[] => {
    if (!Array.isArray(v) || v.length < 1 || v.length > 64) throw new RangeError('validators');
    return v.map((x: { key?: unknown }) => {
      if (typeof x?.key !== 'string') throw new RangeError('key');
      return fromHex(x.key, 32);
    });
  };
  if (!Number.isSafeInteger(leaf.epoch) || leaf.epoch < 0 || !Number.isSafeInteger(leaf.since) || leaf.since < 0) throw new RangeError('epoch');
  const next = leaf.next === null ? null : { validators: keys(leaf.next.validators), at: leaf.next.at };
  if (next && (!Number.isSafeInteger(next.at) || next.at < 0)) throw new RangeError('at');
  return { epoch: leaf.epoch, validators: keys(leaf.validators), since: leaf.since, next };
}
