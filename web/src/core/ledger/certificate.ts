// Reads the replica's commit certificate (uint(count) ‖ count × bytes(signed commit message), each message
// uint(type) ‖ bytes(body) ‖ sig64, a commit body uint sender ‖ uint view ‖ uint seq ‖ digest32) to say *why*
// one is not valid. The verdict itself is always the replica's verifier (signatures checked in the wasm
// core); this only names the reason, so a forged, short or duplicated certificate gets its own typed error.

import { Reader, Writer, signingBytes } from '../codec/index.ts';
import { quorumSize } from './quorum.ts';
import { equalBytes } from '../util/index.ts';

const MSG_COMMIT = 4;
const COMMIT_TAG = 'hygeia/pbft/commit/v1';
const MSG_CHECKPOINT = 5;
const CHECKPOINT_TAG = 'hygeia/pbft/checkpoint/v1';
const SIG_BYTES = 64;

/** A certificate's signed messages, each uint(type) ‖ bytes(body) ‖ sig64 and all of `type`; null if malformed. */
function readSignedMessages(cert: Uint8Array, type: number): { body: Uint8Array; sig: Uint8Array }[] | null {
  const r = new Reader(cert, 1 << 20);
  const count = r.uint(1024);
  const out: { body: Uint8Array; sig: Uint8Array }[] = [];
  for (let i = 0; i < count && r.ok; i++) {
    const m = new Reader(r.bytes(4096), 4096);
    const t = m.uint(255);
    const body = m.bytes(256);
    const sig = m.fixed(SIG_BYTES);
    if (!m.end() || t !== type) return null;
    out.push({ body, sig });
  }
  return r.end() ? out : null;
}

/** A checkpoint body: uint sender ‖ uint seq ‖ stateDigest32 ‖ replicaDigest32; null if malformed. */
function readCheckpointBody(body: Uint8Array): { sender: number; seq: number; stateDigest: Uint8Array; replicaDigest: Uint8Array } | null {
  const b = new Reader(body, 256);
  const m = { sender: b.uint(255), seq: b.uint(), stateDigest: b.fixed(32), replicaDigest: b.fixed(32) };
  return b.end() ? m : null;
}

export type CertificateDefect =
  | 'certificate-malformed' // does not decode, or holds something other than commits
  | 'certificate-wrong-batch' // a commit for another seq or batch digest, or commits from different views
  | 'certificate-unknown-signer' // a sender index outside the validator set
  | 'certificate-duplicate-signer' // the same validator counted twice, leaving fewer than a quorum distinct
  | 'certificate-short' // fewer than a quorum of commits (quorumSize(n), ledger/quorum.ts)
  | 'certificate-bad-signature'; // well-formed and enough signers, so a signature does not verify

export interface CommitVote {
  readonly sender: number;
  readonly view: number;
  readonly seq: number;
  readonly digest: Uint8Array;
}

/** Decodes a certificate's commits without checking signatures; null if malformed. */
export function readCommitCertificate(cert: Uint8Array): CommitVote[] | null {
  const msgs = readSignedMessages(cert, MSG_COMMIT);
  if (!msgs) return null;
  const votes: CommitVote[] = [];
  for (const { body } of msgs) {
    const b = new Reader(body, 256);
    const vote = { sender: b.uint(255), view: b.uint(), seq: b.uint(), digest: b.fixed(32) };
    if (!b.end()) return null;
    votes.push(vote);
  }
  return votes;
}

/**
 * A commit certificate for (seq, batchDigest) in view `view` of epoch `epochId`, in the replica's format, signed
 * by `signers` as senders 0, 1, …: what the in-memory ledger certifies its blocks with, and what a test forges.
 */
export function writeCommitCertificate(
  signers: readonly { sign(message: Uint8Array): Uint8Array }[],
  seq: number,
  batchDigest: Uint8Array,
  epochId: Uint8Array,
  view = 0,
): Uint8Array {
  const w = new Writer(256);
  w.uint(signers.length);
  signers.forEach((signer, sender) => {
    const body = new Writer(64);
    body.uint(sender);
    body.uint(view);
    body.uint(seq);
    body.fixed(batchDigest);
    const b = body.finish();
    const msg = new Writer(160);
    msg.uint(MSG_COMMIT);
    msg.bytes(b);
    msg.fixed(signer.sign(signingBytes(COMMIT_TAG, new Uint8Array([...epochId, ...b]))));
    w.bytes(msg.finish());
  });
  return w.finish();
}

/** Names the defect of a certificate the replica's verifier refused. */
export function diagnoseCommitCertificate(cert: Uint8Array, validatorCount: number, seq: number, batchDigest: Uint8Array): CertificateDefect {
  const votes = readCommitCertificate(cert);
  if (!votes) return 'certificate-malformed';
  const quorum = quorumSize(validatorCount);
  const view = votes[0]?.view;
  for (const v of votes) {
    if (v.seq !== seq || !equalBytes(v.digest, batchDigest) || v.view !== view) return 'certificate-wrong-batch';
    if (v.sender >= validatorCount) return 'certificate-unknown-signer';
  }
  const distinct = new Set(votes.map((v) => v.sender)).size;
  if (distinct < quorum) return distinct < votes.length ? 'certificate-duplicate-signer' : 'certificate-short';
  return 'certificate-bad-signature';
}

/** Ed25519 verification (the wasm core's, in production): true iff sig is valid for msg under pk. */
export type SignatureVerifier = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

export type CheckpointCheck =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason:
        | 'certificate-malformed'
        | 'certificate-wrong-state' // a checkpoint for another seq or state digest
        | 'certificate-unknown-signer'
        | 'certificate-duplicate-signer'
        | 'certificate-short'
        | 'certificate-bad-signature';
    };

/**
 * Checks a checkpoint certificate (the replica's: uint(count) ‖ count × bytes(signed checkpoint), a
 * checkpoint body uint sender ‖ uint seq ‖ stateDigest32 ‖ replicaDigest32): a quorum of distinct validators signed
 * that the state after `seq` has digest `stateDigest` (the host makes that the hash of block `seq`, so this
 * certifies the block's header, its state root, and by the hash chain every block before it).
 */
export function verifyCheckpointCertificate(
  cert: Uint8Array,
  validators: readonly Uint8Array[],
  seq: number,
  stateDigest: Uint8Array,
  verify: SignatureVerifier,
  epochId: Uint8Array = new Uint8Array(32), // the replicas sign signingBytes(tag, epochId ‖ body); default: the default epoch
): CheckpointCheck {
  const fail = (reason: Extract<CheckpointCheck, { ok: false }>['reason']): CheckpointCheck => ({ ok: false, reason });
  const signed = readSignedMessages(cert, MSG_CHECKPOINT);
  if (!signed) return fail('certificate-malformed');
  const msgs: { sender: number; body: Uint8Array; sig: Uint8Array }[] = [];
  for (const { body, sig } of signed) {
    const c = readCheckpointBody(body);
    if (!c) return fail('certificate-malformed');
    if (c.seq !== seq || !equalBytes(c.stateDigest, stateDigest)) return fail('certificate-wrong-state');
    if (c.sender >= validators.length) return fail('certificate-unknown-signer');
    msgs.push({ sender: c.sender, body, sig });
  }
  const quorum = quorumSize(validators.length);
  const distinct = new Set(msgs.map((m) => m.sender));
  if (distinct.size < quorum) return fail(distinct.size < msgs.length ? 'certificate-duplicate-signer' : 'certificate-short');
  const checked = new Set<number>();
  for (const m of msgs) {
    if (checked.has(m.sender)) continue;
    if (!verify(validators[m.sender]!, signingBytes(CHECKPOINT_TAG, new Uint8Array([...epochId, ...m.body])), m.sig)) return fail('certificate-bad-signature');
    checked.add(m.sender);
  }
  return { ok: true };
}

/**
 * The replica-state digest a checkpoint certificate's checkpoints agree on (each body ends with it), or null if
 * the certificate does not decode or its checkpoints disagree. Check the certificate itself with
 * verifyCheckpointCertificate; then sha256(replicaState) must equal this.
 */
export function checkpointReplicaDigest(cert: Uint8Array): Uint8Array | null {
  const msgs = readSignedMessages(cert, MSG_CHECKPOINT);
  if (!msgs) return null;
  let digest: Uint8Array | null = null;
  for (const { body } of msgs) {
    const c = readCheckpointBody(body);
    if (!c || (digest && !equalBytes(digest, c.replicaDigest))) return null;
    digest = c.replicaDigest;
  }
  return digest;
}
