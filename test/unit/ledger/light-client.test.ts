// The light client: a header counts only with an attestation quorum of its epoch's validators; an accepted
// header is never replaced (another one at its height, or one that breaks the chain, is evidence); state is
// trusted only through proofs against attested roots; and validator changes are followed from genesis by
// `consensus` leaves proven at attested blocks.
import { beforeAll, describe, expect, it } from 'vitest';
import { ed25519PublicKey, ed25519Sign, initCore } from '../../../wasm/index.ts';
import { attestationSigningBytes, encodeAttestationCertificate } from '../../../web/src/core/ledger/attestation.ts';
import { blockHash, buildBlock, genesisHash, txProof, type Block, type BlockHeader } from '../../../web/src/core/ledger/block.ts';
import { epochId, type Epoch } from '../../../web/src/core/ledger/epoch.ts';
import { LightClient } from '../../../web/src/core/ledger/light-client.ts';
import { quorumSize } from '../../../web/src/core/ledger/quorum.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';
import { ScheduleApp } from '../../integration/consensus/schedule-app.ts';

const K = 4;
const rng = new Prng(31337);
const secrets = Array.from({ length: 6 }, () => rng.bytes(32));
let keys: Uint8Array[] = [];
let v0: Uint8Array[] = [];
let v1: Uint8Array[] = [];
const utf8 = (s: string) => new TextEncoder().encode(s);
beforeAll(async () => {
  await initCore();
  keys = secrets.map(ed25519PublicKey);
  v0 = keys.slice(0, 4);
  v1 = keys.slice(1, 6); // one leaves, two join: five validators from block 9
});

/** Signs an attestation certificate for `header` by the first quorum of `signers` (indices into `keys`). */
function attest(header: BlockHeader, epoch: Epoch, signers: number[]): Uint8Array {
  const q = signers.slice(0, quorumSize(epoch.validators.length));
  return encodeAttestationCertificate(
    q.map((k) => ({
      signer: epoch.validators.findIndex((v) => toHex(v) === toHex(keys[k]!)),
      signature: ed25519Sign(secrets[k]!, attestationSigningBytes(epoch.id, blockHash(header))),
    })),
  );
}

/** Blocks 1..12 of an app that schedules v1 in block 6 (so from block 9, E = 8), and the app after each. */
function chain() {
  const app = new ScheduleApp(v0, K);
  const g = genesisHash(v0);
  const blocks: Block[] = [];
  const leaves: { leaf: ReturnType<ScheduleApp['consensusLeaf']>; proof: ReturnType<ScheduleApp['stateProof']>['proof']; kv: ReturnType<ScheduleApp['stateProof']> }[] = [];
  let prev = g;
  for (let h = 1; h <= 12; h++) {
    const tx = h === 6 ? utf8(`validators=${v1.map(toHex).join(',')}`) : utf8(`k${h}=v${h}`);
    app.apply(tx, { height: h, index: 0, time: 1000 + h });
    const b = buildBlock({ height: h, time: 1000 + h, prevHash: prev, txs: [tx], stateRoot: app.stateRoot(), certificate: new Uint8Array() });
    blocks.push(b);
    leaves.push({ leaf: app.consensusLeaf(), proof: app.stateProof('consensus').proof, kv: app.stateProof(`kv/k${h}`) });
    prev = blockHash(b.header);
  }
  const e0: Epoch = { number: 0, since: 0, validators: v0, id: epochId(0, g, 0, v0) };
  const e1: Epoch = { number: 1, since: 8, validators: v1, id: epochId(1, g, 8, v1) };
  return { blocks, leaves, e0, e1, lc: new LightClient(v0, { checkpointInterval: K }) };
}

describe('LightClient', () => {
  it('accepts a header only with an attestation quorum of its epoch, and then its state root and transactions', () => {
    const { blocks, leaves, e0, lc } = chain();
    const h3 = blocks[2]!.header;
    expect(lc.acceptHeader(h3, attest(h3, e0, [0, 1]))).toEqual({ ok: false, reason: 'attestation-short' });
    expect(lc.certifiedStateRoot(3)).toBeUndefined();
    expect(lc.acceptHeader(h3, attest(h3, e0, [0, 1, 2]))).toEqual({ ok: true, hash: blockHash(h3) });
    expect(lc.certifiedStateRoot(3)).toEqual(h3.stateRoot);
    expect(lc.verifyState(3, 'kv/k3', 'v3', leaves[2]!.kv.proof)).toBe(true);
    expect(lc.verifyState(3, 'kv/k3', 'forged', leaves[2]!.kv.proof)).toBe(false);
    expect(lc.verifyState(4, 'kv/k3', 'v3', leaves[2]!.kv.proof)).toBe(false); // no accepted header at 4
    expect(lc.verifyTransaction(blocks[2]!.txs[0]!, txProof(blocks[2]!, 0)).ok).toBe(true);
    expect(lc.verifyTransaction(blocks[1]!.txs[0]!, txProof(blocks[2]!, 0))).toEqual({ ok: false, reason: 'proof-mismatch' });
  });

  it('never replaces an accepted header: another attested header at its height, or one off the chain, is evidence', () => {
    const { blocks, e0, lc } = chain();
    const h5 = blocks[4]!.header;
    expect(lc.acceptHeader(h5, attest(h5, e0, [0, 1, 2])).ok).toBe(true);
    // A quorum signed another header at height 5 (another state root): refused, kept as evidence.
    const forked = { ...h5, stateRoot: new Uint8Array(32).fill(7) };
    expect(lc.acceptHeader(forked, attest(forked, e0, [1, 2, 3]))).toEqual({ ok: false, reason: 'conflicting-header' });
    expect(lc.certifiedStateRoot(5)).toEqual(h5.stateRoot);
    // A header at 6 that does not link to the accepted 5.
    const h6 = { ...blocks[5]!.header, prevHash: new Uint8Array(32).fill(1) };
    expect(lc.acceptHeader(h6, attest(h6, e0, [0, 1, 2]))).toEqual({ ok: false, reason: 'chain-mismatch' });
    expect(lc.evidence.map((e) => [e.height, e.reason])).toEqual([
      [5, 'conflicting-header'],
      [6, 'chain-mismatch'],
    ]);
    // The same header again is fine (idempotent), and an unattested conflicting one is just unattested.
    expect(lc.acceptHeader(h5, attest(h5, e0, [0, 1, 2])).ok).toBe(true);
    expect(lc.acceptHeader(forked, new Uint8Array([0]))).toEqual({ ok: false, reason: 'attestation-short' });
    expect(lc.evidence).toHaveLength(2);
  });

  it('follows a validator change from genesis: the consensus leaf proven at the attested checkpoint names the next epoch', () => {
    const { blocks, leaves, e0, e1, lc } = chain();
    const h9 = blocks[8]!.header;
    // Block 9 is certified by the new validators (the change in block 6 takes effect at E = 8) ...
    expect(lc.acceptHeader(h9, attest(h9, e1, [1, 2, 3, 4, 5])).ok).toBe(false); // ... unknown to the client yet
    const h8 = blocks[7]!.header;
    expect(lc.acceptHeader(h8, attest(h8, e0, [0, 1, 2])).ok).toBe(true); // 8 is still the old epoch's
    // A forged leaf (other validators) does not prove; the real one does and names epoch 1 from block 9.
    const forged = { ...leaves[7]!.leaf, next: { validators: [{ org: 'x', key: toHex(keys[0]!) }], at: 8 } };
    expect(lc.acceptConsensusLeaf(8, forged, leaves[7]!.proof)).toEqual({ ok: false, reason: 'proof-mismatch' });
    const learned = lc.acceptConsensusLeaf(8, leaves[7]!.leaf, leaves[7]!.proof);
    expect(learned).toMatchObject({ ok: true, changed: true, epoch: { number: 1, since: 8 } });
    expect(learned.ok && toHex(learned.epoch.id)).toBe(toHex(e1.id));
    expect(lc.acceptHeader(h9, attest(h9, e1, [1, 2, 3, 4, 5]))).toEqual({ ok: true, hash: blockHash(h9) });
    // The old validators' quorum no longer certifies a block after E, and signatures of epoch 0 are no
    // votes in epoch 1 even from validators of both.
    const h10 = blocks[9]!.header;
    expect(lc.acceptHeader(h10, attest(h10, e0, [0, 1, 2])).ok).toBe(false);
    expect(lc.acceptHeader(h10, attest(h10, { ...e1, id: e0.id }, [1, 2, 3, 4])).ok).toBe(false);
    expect(lc.acceptHeader(h10, attest(h10, e1, [2, 3, 4, 5])).ok).toBe(true);
    // The leaf again changes nothing; a leaf proven before the change took effect names no new epoch.
    expect(lc.acceptConsensusLeaf(8, leaves[7]!.leaf, leaves[7]!.proof)).toMatchObject({ ok: true, changed: false });
    expect(lc.epochs.map((e) => e.number)).toEqual([0, 1]);
  });

  it('does not learn an epoch from a leaf proven before the change takes effect, or from an unattested block', () => {
    const { blocks, leaves, e0, lc } = chain();
    const h6 = blocks[5]!.header;
    expect(lc.acceptConsensusLeaf(6, leaves[5]!.leaf, leaves[5]!.proof)).toEqual({ ok: false, reason: 'unknown-block' });
    expect(lc.acceptHeader(h6, attest(h6, e0, [0, 1, 2])).ok).toBe(true);
    // At block 6 the change is scheduled (next.at = 8) but not in force: still epoch 0.
    expect(lc.acceptConsensusLeaf(6, leaves[5]!.leaf, leaves[5]!.proof)).toMatchObject({ ok: true, changed: false, epoch: { number: 0 } });
    expect(lc.epochs).toHaveLength(1);
  });
});
