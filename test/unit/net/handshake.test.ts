// The identity handshake as a pure state machine, with the wasm core's Ed25519: both sides authenticate, and
// every way a peer can lie ends in a typed failure before any of its data is delivered.
import { describe, expect, it } from 'vitest';
import { ed25519PublicKey } from '../../../wasm/index.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';
import { FRAME_DATA, FRAME_HELLO, Handshake, type HandshakeOutput } from '../../../web/src/core/net/handshake.ts';
import { encodeMessage } from '../../../web/src/core/net/framing.ts';
import { useCore } from '../shared/core.ts';

const data = (bytes: Uint8Array): Uint8Array => encodeMessage(bytes)[0]!;

const rng = new Prng(2024);
const FP_A = 'AA:BB:CC';
const FP_B = '11:22:33';

function party(opts: { local?: string; remote?: string; isMember?: (p: string) => boolean; secretKey?: Uint8Array } = {}) {
  const secretKey = opts.secretKey ?? rng.bytes(32);
  const publicKey = ed25519PublicKey(secretKey);
  const hs = new Handshake({
    identity: { secretKey, publicKey },
    localFingerprint: opts.local ?? FP_A,
    remoteFingerprint: opts.remote ?? FP_B,
    isMember: opts.isMember ?? (() => true),
    nonce: rng.bytes(32),
    maxMessageBytes: 1024,
  });
  return { hs, secretKey, id: toHex(publicKey) };
}

const sends = (out: HandshakeOutput[]) => out.filter((o) => o.kind === 'send').map((o) => (o as { frame: Uint8Array }).frame);

/** Runs the exchange between a and b, returns every output each produced. */
function exchange(a: Handshake, b: Handshake): { a: HandshakeOutput[]; b: HandshakeOutput[] } {
  const outA: HandshakeOutput[] = [];
  const outB: HandshakeOutput[] = [];
  let toB = [a.helloFrame()];
  let toA = [b.helloFrame()];
  for (let round = 0; round < 4 && (toA.length || toB.length); round++) {
    const nextA: Uint8Array[] = [];
    const nextB: Uint8Array[] = [];
    for (const f of toB) {
      const o = b.receive(f);
      outB.push(...o);
      nextA.push(...sends(o));
    }
    for (const f of toA) {
      const o = a.receive(f);
      outA.push(...o);
      nextB.push(...sends(o));
    }
    toA = nextA;
    toB = nextB;
  }
  return { a: outA, b: outB };
}

useCore();

describe('Handshake', () => {
  it('authenticates both sides and then delivers data from the authenticated key', () => {
    const A = party({ local: FP_A, remote: FP_B });
    const B = party({ local: FP_B, remote: FP_A });
    const out = exchange(A.hs, B.hs);
    expect(out.a).toContainEqual({ kind: 'authenticated', peer: B.id });
    expect(out.b).toContainEqual({ kind: 'authenticated', peer: A.id });
    expect(A.hs.peer).toBe(B.id);
    expect(B.hs.receive(data(Uint8Array.of(1, 2, 3)))).toEqual([{ kind: 'deliver', peer: A.id, bytes: Uint8Array.of(1, 2, 3) }]);
  });

  it('answers a repeated HELLO again (a first frame lost before the channel opened) and ignores the duplicate PROOF', () => {
    const A = party({ local: FP_A, remote: FP_B });
    const B = party({ local: FP_B, remote: FP_A });
    const proof1 = sends(B.hs.receive(A.hs.helloFrame()));
    const proof2 = sends(B.hs.receive(A.hs.helloFrame()));
    expect(proof1).toHaveLength(1);
    expect(proof2).toHaveLength(1);
    A.hs.receive(B.hs.helloFrame());
    expect(A.hs.receive(proof1[0]!)).toEqual([{ kind: 'authenticated', peer: B.id }]);
    expect(A.hs.receive(proof2[0]!)).toEqual([]);
  });

  it('refuses data before the peer proved its key', () => {
    const A = party();
    expect(A.hs.receive(data(Uint8Array.of(9)))).toEqual([{ kind: 'fail', reason: 'unexpected' }]);
  });

  it('refuses a PROOF before a HELLO', () => {
    const A = party();
    const proof = new Uint8Array(65);
    proof[0] = 2;
    expect(A.hs.receive(proof)).toEqual([{ kind: 'fail', reason: 'unexpected' }]);
  });

  it('holds a key that is not a member without proving itself to it (completion once admitted: next test)', () => {
    const A = party({ local: FP_A, remote: FP_B, isMember: () => false });
    const B = party({ local: FP_B, remote: FP_A });
    // B proves itself to A; A does not answer a non-member with its own proof.
    expect(A.hs.receive(B.hs.helloFrame())).toEqual([{ kind: 'awaiting-membership', peer: B.id }]);
    const bProof = sends(B.hs.receive(A.hs.helloFrame()));
    expect(A.hs.receive(bProof[0]!)).toEqual([]);
    expect(A.hs.peer).toBeNull();
    expect(A.hs.receive(B.hs.helloFrame())).toEqual([]); // a repeated HELLO is not answered either
    expect(A.hs.recheckMembership()).toEqual([]); // still not a member: nothing
    expect(A.hs.receive(data(Uint8Array.of(1)))).toEqual([{ kind: 'fail', reason: 'unexpected' }]);
  });

  it('sends its proof and authenticates the peer at once when a recheck finds it a member', () => {
    let admitted = false;
    const A = party({ local: FP_A, remote: FP_B, isMember: () => admitted });
    const B = party({ local: FP_B, remote: FP_A });
    A.hs.receive(B.hs.helloFrame());
    A.hs.receive(sends(B.hs.receive(A.hs.helloFrame()))[0]!);
    admitted = true;
    const out = A.hs.recheckMembership();
    expect(out.map((o) => o.kind)).toEqual(['send', 'authenticated']);
    expect(B.hs.receive(sends(out)[0]!)).toEqual([{ kind: 'authenticated', peer: A.id }]);
    expect(A.hs.recheckMembership()).toEqual([]);
  });

  it('still verifies the proof of a peer held for membership', () => {
    const A = party({ local: FP_A, remote: 'EE:EE:EE', isMember: () => false });
    const B = party({ local: FP_B, remote: FP_A });
    A.hs.receive(B.hs.helloFrame());
    expect(A.hs.receive(sends(B.hs.receive(A.hs.helloFrame()))[0]!)).toEqual([{ kind: 'fail', reason: 'bad-signature' }]);
  });

  it('refuses a peer that claims our own key', () => {
    const sk = rng.bytes(32);
    const A = party({ secretKey: sk });
    const Twin = party({ secretKey: sk });
    expect(A.hs.receive(Twin.hs.helloFrame())).toEqual([{ kind: 'fail', reason: 'self' }]);
  });

  it('refuses a proof replayed from another session (other nonce)', () => {
    const A = party({ local: FP_A, remote: FP_B });
    const B = party({ local: FP_B, remote: FP_A });
    // B's proof in a session with A...
    const oldProof = sends(B.hs.receive(A.hs.helloFrame()))[0]!;
    // ...presented to a later session of the same A (same key, fresh nonce).
    const laterA = party({ local: FP_A, remote: FP_B, secretKey: A.secretKey });
    laterA.hs.receive(B.hs.helloFrame());
    expect(laterA.hs.receive(oldProof)).toEqual([{ kind: 'fail', reason: 'bad-signature' }]);
  });

  it('refuses a proof made for other DTLS fingerprints (a relay in the middle)', () => {
    const A = party({ local: FP_A, remote: 'EE:EE:EE' }); // A sees the man in the middle's certificate
    const B = party({ local: FP_B, remote: FP_A });
    const out = exchange(A.hs, B.hs);
    expect(out.a).toContainEqual({ kind: 'fail', reason: 'bad-signature' });
    expect(out.b).toContainEqual({ kind: 'fail', reason: 'bad-signature' });
  });

  it('refuses a proof signed by another key than the one in HELLO', () => {
    const A = party({ local: FP_A, remote: FP_B });
    const B = party({ local: FP_B, remote: FP_A });
    const M = party({ local: FP_B, remote: FP_A });
    // M answers A's HELLO with its own proof, but A was told B's key.
    A.hs.receive(B.hs.helloFrame());
    M.hs.receive(A.hs.helloFrame());
    const forged = sends(M.hs.receive(A.hs.helloFrame()))[0]!;
    expect(A.hs.receive(forged)).toEqual([{ kind: 'fail', reason: 'bad-signature' }]);
  });

  it('refuses a second HELLO that changes the key or nonce', () => {
    const A = party();
    A.hs.receive(party().hs.helloFrame());
    expect(A.hs.receive(party().hs.helloFrame())).toEqual([{ kind: 'fail', reason: 'nonce-changed' }]);
  });

  it('refuses malformed frames and oversized data, and stays failed', () => {
    for (const frame of [new Uint8Array(0), Uint8Array.of(FRAME_HELLO, 1, 2), Uint8Array.of(9), new Uint8Array(66).fill(FRAME_HELLO)]) {
      expect(party().hs.receive(frame)).toEqual([{ kind: 'fail', reason: 'malformed' }]);
    }
    const A = party({ local: FP_A, remote: FP_B });
    const B = party({ local: FP_B, remote: FP_A });
    exchange(A.hs, B.hs);
    const big = new Uint8Array(1026);
    big[0] = FRAME_DATA;
    expect(A.hs.receive(big)).toEqual([{ kind: 'fail', reason: 'oversize' }]);
    expect(A.hs.receive(data(Uint8Array.of(1)))).toEqual([]);
  });

  it('answers a PING with a PONG of the same bytes once authenticated, and reports a PONG', () => {
    const A = party({ local: FP_A, remote: FP_B });
    const B = party({ local: FP_B, remote: FP_A });
    const early = party();
    expect(early.hs.receive(Handshake.ping(new Uint8Array(8)))).toEqual([{ kind: 'fail', reason: 'unexpected' }]);
    exchange(A.hs, B.hs);
    const probe = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    const pong = sends(B.hs.receive(Handshake.ping(probe)))[0]!;
    expect(A.hs.receive(pong)).toEqual([{ kind: 'pong', data: probe }]);
    expect(A.hs.receive(Uint8Array.of(4, 1))).toEqual([{ kind: 'fail', reason: 'malformed' }]);
  });

  it('reassembles a fragmented message and refuses one larger than its bound, whatever it claims', () => {
    const A = party({ local: FP_A, remote: FP_B });
    const B = party({ local: FP_B, remote: FP_A });
    exchange(A.hs, B.hs);
    const message = rng.bytes(1000);
    const frames = encodeMessage(message, 300);
    expect(frames).toHaveLength(4);
    const out = frames.flatMap((f) => A.hs.receive(f));
    expect(out).toEqual([{ kind: 'deliver', peer: B.id, bytes: message }]);
    // The bound is 1024 bytes: a message of 2000 is refused at its first fragment.
    expect(A.hs.receive(encodeMessage(rng.bytes(2000), 300)[0]!)).toEqual([{ kind: 'fail', reason: 'oversize' }]);
  });
});
