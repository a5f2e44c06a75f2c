// Attestation certificates: a quorum of an epoch's validators signing (epoch id, block hash) certifies a header,
// its state root included. Short, forged, repeated, unknown, other-epoch and other-block certificates fail
// with their reason.
import { beforeAll, describe, expect, it } from 'vitest';
import { ed25519PublicKey, ed25519Sign, initCore } from '../../../wasm/index.ts';
import {
  attestationSigningBytes,
  blockHash,
  buildBlock,
  decodeAttestation,
  decodeAttestationCertificate,
  encodeAttestation,
  encodeAttestationCertificate,
  epochId,
  genesisHash,
  quorumSize,
  verifyAttestation,
  type BlockHeader,
} from '../../../web/src/core/ledger/index.ts';
import { Writer } from '../../../web/src/core/codec/index.ts';
import { Prng } from '../../../web/src/core/util/index.ts';

const rng = new Prng(808);
const secrets = Array.from({ length: 8 }, () => rng.bytes(32));
let keys: Uint8Array[] = [];
let header: BlockHeader;
beforeAll(async () => {
  await initCore();
  keys = secrets.map(ed25519PublicKey);
  header = buildBlock({ height: 7, time: 1_000, prevHash: genesisHash(keys.slice(0, 4)), txs: [rng.bytes(40)], stateRoot: rng.bytes(32), certificate: new Uint8Array() }).header;
});

const idOf = (n: number) => epochId(0, genesisHash(keys.slice(0, n)), 0, keys.slice(0, n));
function sign(i: number, id: Uint8Array, h: BlockHeader = header) {
  return { signer: i, signature: ed25519Sign(secrets[i]!, attestationSigningBytes(id, blockHash(h))) };
}

describe('attestation certificates', () => {
  it.each([4, 5, 6, 7, 8])('n = %i: a quorum verifies and covers the header; one fewer is short', (n) => {
    const id = idOf(n);
    const vals = keys.slice(0, n);
    const sigs = Array.from({ length: n }, (_, i) => sign(i, id));
    const q = quorumSize(n);
    expect(verifyAttestation(header, encodeAttestationCertificate(sigs.slice(0, q)), vals, id)).toEqual({ ok: true, hash: blockHash(header) });
    expect(verifyAttestation(header, encodeAttestationCertificate(sigs.slice(0, q - 1)), vals, id)).toEqual({ ok: false, reason: 'attestation-short' });
  });

  it('refuses a certificate for another state root, another epoch, a forged signature, an unknown or repeated signer', () => {
    const id = idOf(4);
    const vals = keys.slice(0, 4);
    const cert = encodeAttestationCertificate([0, 1, 2].map((i) => sign(i, id)));
    // The certificate covers the whole header: the same signatures do not certify another state root.
    const other = { ...header, stateRoot: new Uint8Array(32).fill(1) };
    expect(verifyAttestation(other, cert, vals, id)).toEqual({ ok: false, reason: 'attestation-bad-signature' });
    // A signature from one epoch is no vote in another.
    const later = epochId(1, genesisHash(vals), 16, vals);
    expect(verifyAttestation(header, cert, vals, later)).toEqual({ ok: false, reason: 'attestation-bad-signature' });
    const forged = [0, 1, 2].map((i) => sign(i, id));
    forged[1]!.signature[5]! ^= 1;
    expect(verifyAttestation(header, encodeAttestationCertificate(forged), vals, id)).toEqual({ ok: false, reason: 'attestation-bad-signature' });
    expect(verifyAttestation(header, encodeAttestationCertificate([0, 1, 2, 5].map((i) => sign(i, id))), vals, id)).toEqual({ ok: false, reason: 'attestation-unknown-signer' });
    // A repeated signer cannot be encoded canonically: written by hand, the certificate does not decode.
    const w = new Writer();
    w.list([sign(0, id), sign(0, id), sign(1, id)], (x, s) => {
      x.uint(s.signer);
      x.fixed(s.signature);
    });
    expect(verifyAttestation(header, w.finish(), vals, id)).toEqual({ ok: false, reason: 'attestation-malformed' });
    expect(() => encodeAttestationCertificate([sign(0, id), sign(0, id)])).toThrow();
    expect(verifyAttestation(header, new Uint8Array([3, 1]), vals, id)).toEqual({ ok: false, reason: 'attestation-malformed' });
  });

  it('round-trips attestations and certificates canonically', () => {
    const id = idOf(4);
    const s = sign(2, id);
    const a = { epoch: 3, height: 7, blockHash: blockHash(header), signer: 2, signature: s.signature };
    expect(decodeAttestation(encodeAttestation(a))).toEqual(a);
    expect(() => decodeAttestation(new Uint8Array([...encodeAttestation(a), 0]))).toThrow();
    const cert = encodeAttestationCertificate([sign(3, id), sign(0, id)]);
    expect(decodeAttestationCertificate(cert)!.map((x) => x.signer)).toEqual([0, 3]);
  });
});
