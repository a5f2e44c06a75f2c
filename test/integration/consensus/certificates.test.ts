// Blocks committed by real wasm replicas, checked by verifyBlock and a light client: real certificates pass;
// forged, short, duplicated and misplaced ones are refused with their reason; a wrong transaction proof fails.
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyCommitCertificate } from '../../../wasm/index.ts';
import * as ed from '@noble/ed25519';
import {
  LightClient,
  blockHash,
  genesisEpoch,
  genesisHash,
  readCommitCertificate,
  txProof,
  verifyBlock,
  verifyCheckpointCertificate,
  type Block,
  type Epoch,
} from '../../../web/src/core/ledger/index.ts';
import { quorumSize } from '../../../web/src/core/ledger/quorum.ts';
import { Cluster } from '../../sim/cluster.ts';
import { readCertificate, writeCertificate as certOf } from '../../sim/wire.ts';

/** The signed messages a certificate holds (it must parse). */
const commits = (cert: Uint8Array): Uint8Array[] => readCertificate(cert)!;

describe('blocks from real replicas', () => {
  let c: Cluster;
  let blocks: Block[];
  let epoch: Epoch;

  beforeAll(async () => {
    c = await Cluster.running({ seed: 77, n: 4 });
    for (let k = 0; k < 12; k++) c.at(5 * k, () => c.submit(k % 4, `k${k}=v${k}`));
    expect(await c.run(() => c.committedCount() === 12 && c.converged(), 60_000)).toBe(true);
    const node = c.instance('r1').node!;
    blocks = Array.from({ length: node.height }, (_, i) => node.block(i + 1)!);
    epoch = genesisEpoch(c.keys, genesisHash(c.keys));
  });

  it('every block verifies, chained, with the replica-made certificate', () => {
    blocks.forEach((b, i) => {
      expect(verifyCommitCertificate(b.certificate, c.keys, b.header.height, b.header.batchDigest, epoch.id)).toBe(true);
      // Signatures cover the epoch id: the same commits are no certificate in another epoch.
      expect(verifyCommitCertificate(b.certificate, c.keys, b.header.height, b.header.batchDigest, new Uint8Array(32))).toBe(false);
      expect(verifyBlock(b, c.keys, i > 0 ? { prev: blocks[i - 1]!.header } : {})).toEqual({ ok: true, hash: blockHash(b.header) });
      expect(readCommitCertificate(b.certificate)!.length).toBeGreaterThanOrEqual(quorumSize(c.n));
    });
  });

  it('refuses forged, short, duplicated and misplaced certificates with their reasons', () => {
    const b = blocks.find((x) => x.header.txCount > 0)!;
    const msgs = commits(b.certificate);
    const forgedMsg = msgs[0]!.slice();
    forgedMsg[forgedMsg.length - 1]! ^= 1; // the last byte of the signature
    const other = blocks.find((x) => x.header.height !== b.header.height)!;
    const cases: [Uint8Array, string][] = [
      [certOf([forgedMsg, ...msgs.slice(1)]), 'certificate-bad-signature'],
      [certOf(msgs.slice(0, quorumSize(c.n) - 1)), 'certificate-short'],
      [certOf([msgs[0]!, msgs[0]!, ...msgs.slice(1, quorumSize(c.n) - 1)]), 'certificate-duplicate-signer'],
      [other.certificate, 'certificate-wrong-batch'],
      [new Uint8Array([5, 1, 2]), 'certificate-malformed'],
    ];
    for (const [cert, reason] of cases) expect(verifyBlock({ ...b, certificate: cert }, c.keys)).toEqual({ ok: false, reason });
  });

  it('a light client accepts the real header with its real attestation certificate, checks a transaction proof, and refuses a wrong one', () => {
    const node = c.instance('r1').node!;
    const b = blocks.find((x) => x.header.txCount > 0 && node.attestation(x.header.height))!;
    const lc = new LightClient(c.keys, { checkpointInterval: c.K });
    expect(lc.acceptHeader(b.header, node.attestation(b.header.height)!).ok).toBe(true);
    const proof = txProof(b, 0);
    expect(lc.verifyTransaction(b.txs[0]!, proof).ok).toBe(true);
    const other = blocks.find((x) => x !== b && x.header.txCount > 0)!;
    expect(lc.verifyTransaction(other.txs[0]!, proof)).toEqual({ ok: false, reason: 'proof-mismatch' });
    // A validator set it was not made by (another consortium) refuses the same header and certificate.
    const strangers = new LightClient(
      c.keys.map((k) => k.map((x) => x ^ 0x55)),
      { checkpointInterval: c.K },
    );
    expect(strangers.acceptHeader(b.header, node.attestation(b.header.height)!).ok).toBe(false);
  });

  it('a checkpoint certificate covers the hash of its block; short, duplicated, forged or misplaced ones are refused', () => {
    // (Ed25519 verification here is @noble/ed25519, independent of the wasm core that signed.)
    const verifySignature = (pk: Uint8Array, msg: Uint8Array, sig: Uint8Array) => ed.verify(sig, msg, pk);
    const cp = c.instance('r1').node!.latestCheckpoint()!;
    expect(cp.seq).toBeGreaterThanOrEqual(4);
    expect(verifyCheckpointCertificate(cp.certificate, c.keys, cp.seq, blockHash(blocks[cp.seq - 1]!.header), verifySignature, epoch.id)).toEqual({ ok: true });
    // Short, duplicated, forged, or for another block: refused.
    const msgs = commits(cp.certificate);
    const forged = msgs[1]!.slice();
    forged[forged.length - 1]! ^= 1;
    const digest = blockHash(blocks[cp.seq - 1]!.header);
    const check = (cert: Uint8Array, seq = cp.seq, d = digest) => verifyCheckpointCertificate(cert, c.keys, seq, d, verifySignature, epoch.id);
    expect(check(certOf(msgs.slice(0, quorumSize(c.n) - 1)))).toEqual({ ok: false, reason: 'certificate-short' });
    expect(check(certOf([msgs[0]!, msgs[0]!, ...msgs.slice(1, quorumSize(c.n) - 1)]))).toEqual({ ok: false, reason: 'certificate-duplicate-signer' });
    expect(check(certOf([msgs[0]!, forged, ...msgs.slice(2)]))).toEqual({ ok: false, reason: 'certificate-bad-signature' });
    expect(check(cp.certificate, cp.seq, blockHash(blocks[0]!.header))).toEqual({ ok: false, reason: 'certificate-wrong-state' });
  });
});
