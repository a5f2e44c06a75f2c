// Crafts Ed25519 signatures that honest signers never produce: keys and R values with a component in the
// torsion subgroup of order 8. They separate cofactorless verification (what node:crypto / OpenSSL and our
// core do) from cofactored verification, which a careless batch verifier would implement by accident.
import { createHash } from 'node:crypto';
import { Point } from '@noble/ed25519';
import { Prng } from '../../../web/src/core/util/index.ts';

export const L = (1n << 252n) + 27742317777372353535851937790883648493n;

/** A point of order 8 (one of the eight torsion points; its multiples are all of them). */
export const T8 = Point.fromBytes(Uint8Array.from(Buffer.from('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 'hex')));

export function leToBig(b: Uint8Array): bigint {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i] as number);
  return x;
}

export function bigToLe(x: bigint, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/** [m]T8 for any integer m (only m mod 8 matters). */
export function torsion(m: bigint): Point {
  let p = Point.ZERO;
  const k = ((m % 8n) + 8n) % 8n;
  for (let i = 0n; i < k; i++) p = p.add(T8);
  return p;
}

/** [n]B for any n (reduced mod L; zero gives the identity). */
export function base(n: bigint): Point {
  const r = ((n % L) + L) % L;
  return r === 0n ? Point.ZERO : Point.BASE.multiply(r, false);
}

function challenge(R: Uint8Array, A: Uint8Array, msg: Uint8Array): bigint {
  return leToBig(createHash('sha512').update(R).update(A).update(msg).digest()) % L;
}

export interface Crafted {
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
  /** Whether [S]B - [k]A = R holds exactly (what cofactorless verification checks). */
  cofactorless: boolean;
  /** Whether [8]([S]B - [k]A - R) = O holds (what cofactored verification checks). */
  cofactored: boolean;
}

/**
 * A signature under A = [a]B + [keyTorsion]T8 (a = 0 gives a small-order key) whose difference
 * D = [S]B - [k]A - R equals [wantD]T8: wantD = 0 makes it valid for cofactorless verification, any other
 * value makes it valid for cofactored verification only. R gets whatever torsion that takes, found by trying
 * nonces until the challenge fits (one in eight tries).
 */
export function craft(rng: Prng, a: bigint, keyTorsion: bigint, wantD: bigint): Crafted {
  const A = base(a).add(torsion(keyTorsion));
  const publicKey = A.toBytes();
  const message = rng.bytes(1 + rng.int(80));
  for (let attempt = 0; attempt < 1000; attempt++) {
    const r = leToBig(rng.bytes(32)) % L;
    const guess = BigInt(rng.int(8));
    // R = [r]B + [guess]T8; with S = r + k·a: [S]B - [k]A - R = -[k·keyTorsion + guess]T8.
    const R = base(r).add(torsion(guess));
    const Rb = R.toBytes();
    const k = challenge(Rb, publicKey, message);
    const d = ((-(k * keyTorsion + guess) % 8n) + 8n) % 8n;
    if (d !== ((wantD % 8n) + 8n) % 8n) continue;
    const S = (r + k * a) % L;
    const signature = new Uint8Array(64);
    signature.set(Rb, 0);
    signature.set(bigToLe(S, 32), 32);
    return { publicKey, message, signature, cofactorless: d === 0n, cofactored: true };
  }
  throw new Error('no nonce fitted the wanted torsion in 1000 tries');
}
