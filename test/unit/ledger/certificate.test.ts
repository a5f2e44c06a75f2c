// Checkpoint and commit certificates counted with quorumSize(n) = ceil((n+f+1)/2) (finding 2): at n = 5 the
// textbook 2f+1 = 3 signatures are not a quorum (two such sets can share only the faulty replica), 4 are.
import { beforeAll, describe, expect, it } from 'vitest';
import { ed25519PublicKey, ed25519Sign, ed25519Verify, initCore } from '../../../wasm/index.ts';
import { diagnoseCommitCertificate, verifyCheckpointCertificate } from '../../../web/src/core/ledger/certificate.ts';
import { Writer, signingBytes } from '../../../web/src/core/codec/index.ts';
import { quorumSize } from '../../../web/src/core/ledger/quorum.ts';
import { Prng } from '../../../web/src/core/util/index.ts';

const rng = new Prng(55);
const secrets = Array.from({ length: 8 }, () => rng.bytes(32));
let keys: Uint8Array[] = [];
const verify = ed25519Verify;
const digest = rng.bytes(32);
/** Every replica signature covers its epoch's id. */
const epoch = rng.bytes(32);
beforeAll(async () => {
  await initCore();
  keys = secrets.map(ed25519PublicKey);
});

function message(type: number, body: Uint8Array, sig: Uint8Array): Uint8Array {
  const w = new Writer();
  w.uint(type);
  w.bytes(body);
  w.fixed(sig);
  return w.finish();
}

function certificate(msgs: Uint8Array[]): Uint8Array {
  const w = new Writer();
  w.list(msgs, (x, m) => x.bytes(m));
  return w.finish();
}

/** A checkpoint (type 5) signed by validator `i`: uint sender ‖ uint seq ‖ stateDigest32 ‖ replicaDigest32. */
function checkpoint(i: number, seq: number): Uint8Array {
  const w = new Writer();
  w.uint(i);
  w.uint(seq);
  w.fixed(digest);
  w.fixed(new Uint8Array(32));
  const body = w.finish();
  return message(5, body, ed25519Sign(secrets[i]!, signingBytes('hygeia/pbft/checkpoint/v1', new Uint8Array([...epoch, ...body]))));
}

/** A commit (type 4), unsigned: diagnosis reads structure only. */
function commit(i: number, seq: number): Uint8Array {
  const w = new Writer();
  w.uint(i);
  w.uint(0);
  w.uint(seq);
  w.fixed(digest);
  return message(4, w.finish(), new Uint8Array(64));
}

describe('certificates count quorumSize(n) distinct signers', () => {
  it.each([4, 5, 6, 7, 8])('n = %i: a quorum of checkpoints verifies, one fewer is short', (n) => {
    const vals = keys.slice(0, n);
    const q = quorumSize(n);
    const all = Array.from({ length: n }, (_, i) => checkpoint(i, 16));
    expect(verifyCheckpointCertificate(certificate(all.slice(0, q)), vals, 16, digest, verify, epoch)).toEqual({ ok: true });
    expect(verifyCheckpointCertificate(certificate(all.slice(0, q - 1)), vals, 16, digest, verify, epoch)).toEqual({ ok: false, reason: 'certificate-short' });
  });

  it('at n = 5, three signed checkpoints (2f+1) are not a quorum', () => {
    const cert = certificate([0, 1, 2].map((i) => checkpoint(i, 8)));
    expect(verifyCheckpointCertificate(cert, keys.slice(0, 5), 8, digest, verify, epoch)).toEqual({ ok: false, reason: 'certificate-short' });
  });

  it('names a commit certificate with 2f+1 commits at n = 5 short', () => {
    const cert = certificate([0, 1, 2].map((i) => commit(i, 3)));
    expect(diagnoseCommitCertificate(cert, 5, 3, digest)).toBe('certificate-short');
  });
});
