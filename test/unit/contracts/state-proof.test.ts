// The incremental state root and single-leaf proofs: a proof verifies for the leaf's true value and for
// nothing else (a forged value, another key, another root), an absent key is proven absent, the root
// depends on the state alone (not on the order of writes, not on incremental history), and malformed
// proofs are refused without an exception.
import { describe, expect, it } from 'vitest';
import {
  HygeiaContracts,
  STATE_TREE_DEPTH,
  StateProofDecodeError,
  decodeStateProofPath,
  encodeStateProofPath,
  verifyStateProof,
  type StateProofPath,
} from '../../../web/src/core/ledger/contracts/index.ts';
import { StateTree } from '../../../web/src/core/ledger/contracts/state-tree.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';
import { TREAT_01, grant, setup } from './helpers.ts';
import { useCore } from '../shared/core.ts';

useCore();

describe('state proofs', () => {
  it('prove a leaf against the block state root, and refuse a forged value, a wrong key, a stale root', () => {
    const s = setup(201, { agreements: [TREAT_01] });
    expect(s.submit(s.patient.make('grantConsent', grant(s)))).toEqual({ ok: true });
    const root = s.ledger.blocks.at(-1)!.header.stateRoot;
    const p = s.ledger.app.stateProof('consent/c1');
    expect(p.value).toMatchObject({ consentId: 'c1', revoked: false });
    expect(p.proof.siblings).toHaveLength(STATE_TREE_DEPTH);
    expect(verifyStateProof(root, 'consent/c1', p.value, p.proof)).toBe(true);
    // A forged value: the consent shown as granting more, or as not revoked later.
    expect(verifyStateProof(root, 'consent/c1', { ...(p.value as object), resourceTypes: ['Condition', 'Observation'] }, p.proof)).toBe(false);
    // The same proof for another key, and a claim that the key is absent.
    expect(verifyStateProof(root, 'consent/c2', p.value, p.proof)).toBe(false);
    expect(verifyStateProof(root, 'consent/c1', null, p.proof)).toBe(false);
    // After the revocation the old proof no longer matches the new root, and the new one does.
    expect(s.submit(s.patient.make('revokeConsent', { consentId: 'c1' }))).toEqual({ ok: true });
    const root2 = s.ledger.blocks.at(-1)!.header.stateRoot;
    expect(verifyStateProof(root2, 'consent/c1', p.value, p.proof)).toBe(false);
    const p2 = s.ledger.app.stateProof('consent/c1');
    expect(verifyStateProof(root2, 'consent/c1', p2.value, p2.proof)).toBe(true);
    expect(p2.value).toMatchObject({ revoked: true });
  });

  it('prove a key absent (and refuse an absence proof with an entry left out)', () => {
    const s = setup(202);
    const root = s.ledger.app.stateRoot();
    const absent = s.ledger.app.stateProof('consent/never');
    expect(absent.value).toBeNull();
    expect(verifyStateProof(root, 'consent/never', null, absent.proof)).toBe(true);
    expect(verifyStateProof(root, 'consent/never', { consentId: 'never' }, absent.proof)).toBe(false);
    // A present key whose bucket pair is dropped from its proof cannot pass for absent.
    const present = s.ledger.app.stateProof('org/org-0');
    const stripped: StateProofPath = { ...present.proof, entries: present.proof.entries.filter((e) => toHex(e.valueHash) !== toHex(present.proof.entries[0]!.valueHash)) };
    expect(verifyStateProof(root, 'org/org-0', null, stripped)).toBe(false);
  });

  it('refuse malformed proofs without throwing; the binary form round-trips and refuses trailing bytes', () => {
    const s = setup(203);
    const root = s.ledger.app.stateRoot();
    const p = s.ledger.app.stateProof('org/org-1');
    const bytes = encodeStateProofPath(p.proof);
    const back = decodeStateProofPath(bytes);
    expect(verifyStateProof(root, 'org/org-1', p.value, back)).toBe(true);
    expect(() => decodeStateProofPath(new Uint8Array([...bytes, 0]))).toThrow(StateProofDecodeError);
    expect(() => decodeStateProofPath(bytes.subarray(0, bytes.length - 1))).toThrow(StateProofDecodeError);
    const bad: unknown[] = [
      { entries: p.proof.entries, siblings: p.proof.siblings.slice(1) },
      { entries: [...p.proof.entries, ...p.proof.entries], siblings: p.proof.siblings },
      { entries: [{ keyHash: new Uint8Array(31), valueHash: new Uint8Array(32) }], siblings: p.proof.siblings },
      { entries: 'x', siblings: [] },
      {},
    ];
    for (const b of bad) expect(verifyStateProof(root, 'org/org-1', p.value, b as StateProofPath)).toBe(false);
    expect(verifyStateProof(new Uint8Array(31), 'org/org-1', p.value, p.proof)).toBe(false);
    expect(verifyStateProof(root, 'org/org-1', { x: Number.NaN }, p.proof)).toBe(false);
  });

  it('the root depends on the state alone: any write order, deletes, and incremental history give the same root', () => {
    const prng = new Prng(204);
    const a = new StateTree();
    const model = new Map<string, unknown>();
    for (let i = 0; i < 3000; i++) {
      const k = `k/${prng.int(800)}`;
      if (prng.int(5) === 0) {
        a.set(k, undefined);
        model.delete(k);
      } else {
        const v = { v: prng.int(1000), s: 'x'.repeat(prng.int(4)) };
        a.set(k, v);
        model.set(k, v);
      }
      if (i % 97 === 0) a.root();
    }
    const b = new StateTree();
    for (const k of [...model.keys()].reverse()) b.set(k, model.get(k));
    expect(toHex(a.root())).toBe(toHex(b.root()));
    for (const k of [...model.keys()].slice(0, 20)) expect(verifyStateProof(a.root(), k, model.get(k), a.path(k))).toBe(true);
    const empty = new StateTree();
    for (const k of model.keys()) {
      b.set(k, undefined);
    }
    expect(toHex(b.root())).toBe(toHex(empty.root()));
  });

  it('a restored contracts state has the same root as the one that built it incrementally', () => {
    const s = setup(205, { agreements: [TREAT_01] });
    s.submit(s.patient.make('grantConsent', grant(s)));
    s.submit(
      s.admins[0]!.make('anchorBatch', {
        anchors: Array.from({ length: 50 }, (_, i) => ({ record: i.toString(16).padStart(64, '0'), version: 1, commitment: new Uint8Array(32).fill(i) })),
      }),
    );
    const restored = new HygeiaContracts(s.genesis);
    restored.restore(s.ledger.app.snapshot());
    expect(toHex(restored.stateRoot())).toBe(toHex(s.ledger.app.stateRoot()));
    expect(verifyStateProof(restored.stateRoot(), 'consent/c1', s.ledger.app.consent('c1'), restored.stateProof('consent/c1').proof)).toBe(true);
  });
});
