import { describe, expect, it } from 'vitest';
import { batchDigest, decodeClientRequest, verifyCommitCertificate } from '../../../wasm/face/replica.ts';
import { Cluster, request, useClusters } from './cluster.ts';
import { readCertificate, writeCertificate } from '../../sim/wire.ts';
import { toHex } from '../../../web/src/core/util/index.ts';

const cluster = useClusters();

/** Every replica executed the same batches at the same seqs, in order 1..k. */
function expectAgreement(c: Cluster, replicas: number[]): void {
  const ref = c.executed[replicas[0]!]!;
  ref.forEach((e, k) => expect(e.seq).toBe(k + 1));
  for (const i of replicas) {
    const mine = c.executed[i]!;
    expect(mine.map((e) => [e.seq, toHex(e.batchDigest)])).toEqual(ref.map((e) => [e.seq, toHex(e.batchDigest)]));
  }
}

describe.each([4, 5, 6, 7, 8])('normal case with n = %i', (n) => {
  it('commits batches in order on every replica, each request exactly once', () => {
    const c = cluster({ n, maxBatch: 4, checkpointInterval: 4, watermarkWindow: 16 });
    const reqs = Array.from({ length: 10 }, (_, k) => request(k % 3, Math.floor(k / 3) + 1));
    for (const r of reqs) c.submit(r);
    c.settle();
    expectAgreement(c, [...Array(n).keys()]);
    const executed = c.executed[0]!.flatMap((e) => e.requests.map(toHex));
    expect(executed.sort()).toEqual(reqs.map(toHex).sort());
    for (let i = 0; i < n; i++) {
      expect(c.replicas[i]!.lastExecuted).toBe(c.executed[0]!.length);
      expect(c.replicas[i]!.pendingRequests).toBe(0);
      expect(c.reasons(i).filter((r) => r !== 'duplicate')).toEqual([]);
    }
  });

  it('hands out commit certificates that anyone with the validator set can check', () => {
    const c = cluster({ n });
    c.submit(request(1, 1));
    c.submit(request(1, 2));
    c.settle();
    const e = c.executed[n - 1]![0]!;
    expect(e.requests.length).toBeGreaterThan(0);
    expect(toHex(batchDigest(e.time, e.requests))).toBe(toHex(e.batchDigest));
    expect(verifyCommitCertificate(e.certificate, c.keys, e.seq, e.batchDigest)).toBe(true);
    // The wrong seq, the wrong digest, a foreign validator set or a truncated certificate all fail.
    expect(verifyCommitCertificate(e.certificate, c.keys, e.seq + 1, e.batchDigest)).toBe(false);
    const other = e.batchDigest.slice();
    other[0]! ^= 1;
    expect(verifyCommitCertificate(e.certificate, c.keys, e.seq, other)).toBe(false);
    expect(verifyCommitCertificate(e.certificate, [...c.keys].reverse(), e.seq, e.batchDigest)).toBe(false);
    expect(verifyCommitCertificate(e.certificate.subarray(0, e.certificate.length - 1), c.keys, e.seq, e.batchDigest)).toBe(false);
    // Short (quorum - 1 commits) or padded with a duplicate signer: both refused.
    const commits = readCertificate(e.certificate)!;
    expect(commits.length).toBe(c.quorum);
    const cert = writeCertificate;
    expect(verifyCommitCertificate(cert(commits), c.keys, e.seq, e.batchDigest)).toBe(true);
    expect(verifyCommitCertificate(cert(commits.slice(1)), c.keys, e.seq, e.batchDigest)).toBe(false);
    expect(verifyCommitCertificate(cert([...commits.slice(1), commits[1]!]), c.keys, e.seq, e.batchDigest)).toBe(false);
    const decoded = decodeClientRequest(e.requests[0]!);
    expect(new TextDecoder().decode(decoded.payload)).toMatch(/^op-1-/);
  });
});
