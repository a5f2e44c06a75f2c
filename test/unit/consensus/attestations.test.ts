// Gathering block attestations: a quorum of valid signatures for the block this node executed becomes its
// attestation certificate (stored beside it, announced); forged, duplicate, wrong-epoch and impersonated
// attestations are refused with a typed reason; a validator attesting another block is evidence; the buffer
// for heights above the tip stays bounded.
import { beforeAll, describe, expect, it } from 'vitest';
import { ed25519PublicKey, ed25519Sign, initCore, type ReplicaAction, type ReplicaEvent } from '../../../wasm/index.ts';
import { CHANNEL_ATTEST, ConsensusNode, decodeAttestMessage, encodeAttestMessage, type ConsensusEvent, type ReplicaLike } from '../../../web/src/core/consensus/index.ts';
import { attestationSigningBytes, encodeAttestation, encodeAttestationCertificate, verifyAttestation } from '../../../web/src/core/ledger/attestation.ts';
import { MemoryLedgerStore, batchDigestOfHashes, txHash } from '../../../web/src/core/ledger/index.ts';
import { genesisEpoch } from '../../../web/src/core/ledger/epoch.ts';
import { genesisHash } from '../../../web/src/core/ledger/block.ts';
import { SimNetwork, onChannel } from '../../../web/src/core/net/index.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';
import { KvApp } from '../../sim/kv-app.ts';
import { fakeCertificate, utf8, verifyFakeCertificate as verifyCertificate } from '../shared/fake-certificate.ts';

const rng = new Prng(4040);
const secrets = Array.from({ length: 4 }, () => rng.bytes(32));
let keys: Uint8Array[] = [];
let ids: string[] = [];
beforeAll(async () => {
  await initCore();
  keys = secrets.map(ed25519PublicKey);
  ids = keys.map(toHex);
});

/** Executes one block per submitted request, like a replica that commits everything at once. */
class Executor implements ReplicaLike {
  view = 0;
  primary = 0;
  lastExecuted = 0;
  step(e: ReplicaEvent): ReplicaAction[] {
    if (e.kind !== 'request') return [];
    const seq = ++this.lastExecuted;
    return [
      {
        kind: 'execute',
        seq,
        view: 0,
        time: 1000 + seq,
        batchTime: 1000 + seq,
        batchDigest: batchDigestOfHashes(1000 + seq, [txHash(e.bytes)]),
        requests: [e.bytes],
        batch: [e.bytes],
        skipped: [],
        certificate: fakeCertificate(seq),
      },
    ];
  }
  dispose(): void {}
}

async function node0() {
  const net = new SimNetwork({ seed: 3, link: { jitter: 0 } });
  const events: ConsensusEvent[] = [];
  const store = new MemoryLedgerStore();
  const node = new ConsensusNode({
    validators: keys,
    key: keys[0]!,
    createReplica: () => new Executor(),
    transport: net.join(ids[0]!),
    clock: net.clock,
    app: new KvApp(),
    store,
    checkpointInterval: 4,
    payloadOf: (r) => r,
    verifyCertificate,
    signAttestation: (m) => ed25519Sign(secrets[0]!, m),
    onEvent: (e) => events.push(e),
  });
  await node.start();
  const peers = [1, 2, 3].map((i) => net.join(ids[i]!));
  const heard: Uint8Array[] = [];
  peers[0]!.onMessage((_f, b) => (b[0] === CHANNEL_ATTEST ? heard.push(b) : 0));
  const heardBy3: Uint8Array[] = [];
  peers[2]!.onMessage((_f, b) => (b[0] === CHANNEL_ATTEST ? heardBy3.push(b) : 0));
  const epoch = genesisEpoch(keys, genesisHash(keys));
  /** Validator i's attestation of (height, hash), sent by peer `via` (default: itself). */
  const attest = (i: number, height: number, hash: Uint8Array, opts: { via?: number; epoch?: number; forge?: boolean } = {}) => {
    const signature = ed25519Sign(secrets[i]!, attestationSigningBytes(epoch.id, hash));
    if (opts.forge) signature[0]! ^= 1;
    const bytes = encodeAttestation({ epoch: opts.epoch ?? 0, height, blockHash: hash, signer: i, signature });
    peers[(opts.via ?? i) - 1]!.send(ids[0]!, onChannel(CHANNEL_ATTEST, encodeAttestMessage({ type: 'vote', attestation: bytes })));
  };
  const rejected = () => events.flatMap((e) => (e.kind === 'attestationRejected' ? [`${e.reason}@${e.height}`] : []));
  const send = (via: number, bytes: Uint8Array) => peers[via - 1]!.send(ids[0]!, onChannel(CHANNEL_ATTEST, encodeAttestMessage({ type: 'vote', attestation: bytes })));
  const sendCertificate = (via: number, height: number, hash: Uint8Array, certificate: Uint8Array) =>
    peers[via - 1]!.send(ids[0]!, onChannel(CHANNEL_ATTEST, encodeAttestMessage({ type: 'certificate', height, blockHash: hash, certificate })));
  return { net, node, store, events, attest, send, sendCertificate, rejected, heard, heardBy3, epoch };
}

describe('attestations', () => {
  it('attests its own block, and a quorum of valid attestations becomes the stored certificate', async () => {
    const t = await node0();
    t.node.submit(utf8('a=1'));
    t.net.clock.runUntil(10);
    expect(t.heard).toHaveLength(1); // its own signature, broadcast
    const hash = t.node.tipHash;
    t.attest(1, 1, hash);
    t.net.clock.runUntil(20);
    expect(t.events.some((e) => e.kind === 'attested')).toBe(false); // 2 of a quorum of 3
    t.attest(2, 1, hash);
    t.attest(3, 1, hash); // after the quorum: ignored unread
    t.net.clock.runUntil(30);
    const done = t.events.filter((e) => e.kind === 'attested');
    expect(done).toHaveLength(1);
    const cert = done[0]!.kind === 'attested' ? done[0]!.certificate : new Uint8Array();
    expect(verifyAttestation(t.node.block(1)!.header, cert, keys, t.epoch.id)).toEqual({ ok: true, hash });
    await t.node.flushed();
    expect((await t.store.getAttestations(1, 1)).get(1)).toEqual(cert);
    expect(t.rejected()).toEqual([]);
  });

  it('refuses forged, duplicate, impersonated and other-epoch attestations with their reasons, and never certifies from them', async () => {
    const t = await node0();
    t.node.submit(utf8('a=1'));
    t.net.clock.runUntil(10);
    const hash = t.node.tipHash;
    t.attest(1, 1, hash, { forge: true });
    t.attest(2, 1, hash, { via: 3 }); // validator 3 relays 2's signature as if it were its own: not the signer
    t.attest(3, 1, hash, { epoch: 1 });
    t.net.clock.runUntil(20);
    t.attest(1, 1, hash); // 1 already refused at this height
    t.net.clock.runUntil(30);
    expect(t.rejected()).toEqual(['bad-signature@1', 'not-signer@1', 'wrong-epoch@1', 'duplicate@1']);
    expect(t.events.some((e) => e.kind === 'attested')).toBe(false);
    expect(t.node.attestationRejections()).toEqual({ 'bad-signature': 1, 'not-signer': 1, 'wrong-epoch': 1, duplicate: 1 });
  });

  it('reports a validator that validly attests another block at a height it executed', async () => {
    const t = await node0();
    t.node.submit(utf8('a=1'));
    t.net.clock.runUntil(10);
    const other = new Uint8Array(32).fill(9);
    t.attest(2, 1, other);
    t.net.clock.runUntil(20);
    expect(t.events.filter((e) => e.kind === 'attestationConflict').map((e) => e.kind === 'attestationConflict' && [e.height, e.from, toHex(e.theirs)])).toEqual([
      [1, ids[2], toHex(other)],
    ]);
  });

  it('holds attestations for the next heights until it executes them, and drops those far ahead', async () => {
    const t = await node0();
    // Attestations for block 1 arrive before node 0 executes it (they are for the hash it will compute).
    t.node.submit(utf8('a=1'));
    t.net.clock.runUntil(5);
    const hash1 = t.node.tipHash;
    const t2 = await node0();
    t2.attest(1, 1, hash1);
    t2.attest(2, 1, hash1);
    t2.net.clock.runUntil(10);
    expect(t2.events.some((e) => e.kind === 'attested')).toBe(false);
    t2.node.submit(utf8('a=1'));
    t2.net.clock.runUntil(20);
    expect(t2.events.filter((e) => e.kind === 'attested').map((e) => e.kind === 'attested' && e.height)).toEqual([1]);
    // Far ahead: dropped, not buffered.
    t2.attest(1, 5_000, hash1);
    t2.net.clock.runUntil(30);
    expect(t2.rejected()).toContain('too-far-ahead@5000');
  });

  it('bounds what one peer can buffer above the tip', async () => {
    const t = await node0();
    // For the current epoch a peer may only send its own attestations (one per height in the window) ...
    for (let h = 2; h <= 200; h++) t.attest(1, h, new Uint8Array(32).fill(h & 0xff));
    t.net.clock.runUntil(50);
    expect(t.node.attestationRejections()['too-far-ahead']).toBe(200 - 64);
    // ... and for the next epoch, whose validators it cannot check yet, at most a window's worth in all.
    const t2 = await node0();
    for (let k = 0; k < 100; k++) {
      t2.send(1, encodeAttestation({ epoch: 1, height: 2 + Math.floor(k / 50), blockHash: new Uint8Array(32).fill(k), signer: k % 50, signature: new Uint8Array(64) }));
    }
    t2.net.clock.runUntil(50);
    expect(t2.node.attestationRejections()['buffer-full']).toBe(100 - 64);
  });

  it('sends the certificate back to a validator that votes after the quorum, once; and takes a valid certificate for a block it holds', async () => {
    const t = await node0();
    t.node.submit(utf8('a=1'));
    t.net.clock.runUntil(10);
    const hash = t.node.tipHash;
    t.attest(1, 1, hash);
    t.attest(2, 1, hash);
    t.net.clock.runUntil(20);
    t.heardBy3.length = 0;
    t.attest(3, 1, hash); // late: it executed block 1 after the others certified it
    t.attest(3, 1, hash);
    t.net.clock.runUntil(30);
    const answers = t.heardBy3.map((b) => decodeAttestMessage(b.subarray(1))).filter((m) => m.type === 'certificate');
    expect(answers).toHaveLength(1);
    expect(answers[0]!.type === 'certificate' && verifyAttestation(t.node.block(1)!.header, answers[0]!.certificate, keys, t.epoch.id).ok).toBe(true);

    // The other way: a node that holds block 1 without a certificate takes a valid one, and refuses a forged one.
    const u = await node0();
    u.node.submit(utf8('a=1'));
    u.net.clock.runUntil(10);
    const sigs = [1, 2, 3].map((i) => ({ signer: i, signature: ed25519Sign(secrets[i]!, attestationSigningBytes(u.epoch.id, hash)) }));
    const forged = sigs.map((x) => ({ ...x, signature: x.signature.slice() }));
    forged[0]!.signature[0]! ^= 1;
    u.sendCertificate(2, 1, hash, encodeAttestationCertificate(forged));
    u.net.clock.runUntil(20);
    expect(u.rejected()).toEqual(['bad-signature@1']);
    expect(u.node.attestation(1)).toBeUndefined();
    u.sendCertificate(2, 1, hash, encodeAttestationCertificate(sigs));
    u.net.clock.runUntil(30);
    expect(u.node.attestation(1)).toEqual(encodeAttestationCertificate(sigs));
  });
});
