// Issue 10, finding 17: after signing or deriving a key, no copy of the seed, the expanded secret (scalar and
// nonce prefix) or the nonce is left anywhere in the core's linear memory, and the signing scratch region
// reads back as zeros.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Ed25519Signer, ed25519PublicKey, ed25519Sign, initCore, sha256 } from '../../../wasm/index.ts';
import { core, type CoreExports } from '../../../wasm/face/instance.ts';
import { SIGN_REGION } from '../../../wasm/face/ed25519.ts';
import { Prng } from '../../../web/src/core/util/index.ts';
import { L, bigToLe, leToBig } from './craft.ts';

await initCore();

interface ScratchExports extends CoreExports {
  signRegionPtr(region: number): number;
  SIGN_SCRATCH_BYTES: WebAssembly.Global;
}

/** The secrets of one signature: seed, clamped scalar, nonce prefix, nonce hash and reduced nonce. */
function secretsOf(seed: Uint8Array, message: Uint8Array): Record<string, Uint8Array> {
  const h = createHash('sha512').update(seed).digest();
  const scalar = new Uint8Array(h.subarray(0, 32));
  scalar[0] = (scalar[0] as number) & 248;
  scalar[31] = ((scalar[31] as number) & 127) | 64;
  const prefix = new Uint8Array(h.subarray(32));
  const nonceHash = new Uint8Array(createHash('sha512').update(prefix).update(message).digest());
  const nonce = bigToLe(leToBig(nonceHash) % L, 32);
  return { seed, scalar, prefix, nonceHash: nonceHash.subarray(0, 32), nonce };
}

/** Names of the secrets of which any 16-byte window still appears in linear memory. */
function leftovers(secrets: Record<string, Uint8Array>): string[] {
  const memory = Buffer.from(core().memory.buffer);
  const found: string[] = [];
  for (const [name, bytes] of Object.entries(secrets)) {
    for (let off = 0; off + 16 <= bytes.length; off += 8) {
      if (memory.indexOf(Buffer.from(bytes.subarray(off, off + 16))) >= 0) {
        found.push(name);
        break;
      }
    }
  }
  return found;
}

function scratchIsZero(): boolean {
  const e = core<ScratchExports>();
  const region = new Uint8Array(e.memory.buffer, e.signRegionPtr(SIGN_REGION.scratch), e.SIGN_SCRATCH_BYTES.value as number);
  return region.every((b) => b === 0);
}

describe('signing leaves no secret in linear memory', () => {
  const rng = new Prng(17);

  it('the search finds a secret that is present (the check is not vacuous)', () => {
    const seed = rng.bytes(32);
    // Hashing copies its input into the hash region only for the duration of the call; plant one directly.
    const e = core();
    const spot = new Uint8Array(e.memory.buffer, 8, 32);
    const saved = spot.slice();
    spot.set(seed);
    expect(leftovers({ seed })).toEqual(['seed']);
    spot.set(saved);
  });

  it('after ed25519Sign (seed only), over short and long messages', () => {
    for (const size of [0, 33, 200, 70_000]) {
      const seed = rng.bytes(32);
      const message = rng.bytes(size);
      ed25519Sign(seed, message);
      expect(leftovers(secretsOf(seed, message)), `message of ${size} bytes`).toEqual([]);
      expect(scratchIsZero()).toBe(true);
    }
  });

  it('after key derivation and after signing with an Ed25519Signer', () => {
    const seed = rng.bytes(32);
    ed25519PublicKey(seed);
    const message = rng.bytes(100);
    expect(leftovers(secretsOf(seed, message))).toEqual([]);
    const signer = new Ed25519Signer(seed);
    expect(leftovers(secretsOf(seed, message))).toEqual([]);
    signer.sign(message);
    expect(leftovers(secretsOf(seed, message))).toEqual([]);
    expect(scratchIsZero()).toBe(true);
    signer.destroy();
  });

  it('after hashing a secret (a derived staff key is sha256(tag ‖ seed))', () => {
    const seed = rng.bytes(32);
    const input = new Uint8Array([...new TextEncoder().encode('hygeia/staff/clinician/v1'), ...seed]);
    sha256(input);
    expect(leftovers({ seed })).toEqual([]);
  });
});
