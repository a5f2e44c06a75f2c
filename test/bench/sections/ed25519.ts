// Ed25519 key derivation, signing and verification per second: Hygeia's wasm core beside libsodium-wrappers,
// @noble/ed25519 and node:crypto (the native ceiling), same keys and messages, same process.
import crypto from 'node:crypto';
import * as noble from '@noble/ed25519';
import { sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import sodium from 'libsodium-wrappers';
import { Ed25519Signer, ed25519PublicKey, ed25519Sign, ed25519Verify, initCore } from '../../../wasm/index.ts';
import { Prng } from '../../../web/src/core/util/index.ts';
import { measure, ratio, type BenchSection, type Row } from '../harness.ts';

const section: BenchSection = {
  name: 'ed25519',
  async run(ctx) {
    await initCore();
    await sodium.ready;
    noble.hashes.sha512 = (m: Uint8Array) => nobleSha512(m);
    const rng = new Prng(25519);
    const seed = rng.bytes(32);
    const msg = rng.bytes(32);
    const pub = ed25519PublicKey(seed);
    const signer = new Ed25519Signer(seed);
    const sig = ed25519Sign(seed, msg);
    const sodiumKeys = sodium.crypto_sign_seed_keypair(seed);
    const nodeKey = crypto.createPrivateKey({
      key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
      format: 'der',
      type: 'pkcs8',
    });
    const nodePub = crypto.createPublicKey(nodeKey);
    const minMs = ctx.quick ? 200 : 800;
    const ops = {
      keygen: {
        hygeia: () => ed25519PublicKey(seed),
        'libsodium-wrappers': () => sodium.crypto_sign_seed_keypair(seed),
        '@noble/ed25519': () => noble.getPublicKey(seed),
        'node:crypto': () => crypto.createPublicKey(crypto.createPrivateKey({
          key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8',
        })),
      },
      sign: {
        hygeia: () => signer.sign(msg),
        'hygeia (seed only)': () => ed25519Sign(seed, msg),
        'libsodium-wrappers': () => sodium.crypto_sign_detached(msg, sodiumKeys.privateKey),
        '@noble/ed25519': () => noble.sign(msg, seed),
        'node:crypto': () => crypto.sign(null, msg, nodeKey),
      },
      verify: {
        hygeia: () => ed25519Verify(pub, msg, sig),
        'libsodium-wrappers': () => sodium.crypto_sign_verify_detached(sig, msg, sodiumKeys.publicKey),
        '@noble/ed25519': () => noble.verify(sig, msg, pub),
        'node:crypto': () => crypto.verify(null, msg, nodePub, sig),
      },
    } as const;
    const rows: Row[] = [];
    const data: Record<string, unknown> = {};
    for (const [op, libs] of Object.entries(ops)) {
      const perSec: Record<string, number> = {};
      for (const [lib, fn] of Object.entries(libs)) {
        const m = await measure(fn as () => unknown, { minMs });
        perSec[lib] = Math.round(m.opsPerSec);
        ctx.log(`${op} ${lib}: ${perSec[lib]}/s`);
      }
      const ours = perSec.hygeia as number;
      const row: Row = { op };
      for (const [lib, v] of Object.entries(perSec)) row[`${lib} /s`] = v;
      for (const lib of ['libsodium-wrappers', '@noble/ed25519', 'node:crypto']) row[`x ${lib}`] = ratio(ours, perSec[lib] as number);
      rows.push(row);
      data[op] = {
        perSec,
        ratios: Object.fromEntries(['libsodium-wrappers', '@noble/ed25519', 'node:crypto'].map((l) => [l, ratio(ours, perSec[l] as number)])),
      };
    }
    const r = (op: string, lib: string): number => ((data[op] as { ratios: Record<string, number> }).ratios[lib] ?? 0);
    data.targets = {
      'sign >= 0.8x libsodium-wrappers': r('sign', 'libsodium-wrappers') >= 0.8,
      'sign >= 5x @noble/ed25519': r('sign', '@noble/ed25519') >= 5,
      'verify >= 0.8x libsodium-wrappers': r('verify', 'libsodium-wrappers') >= 0.8,
    };
    return { rows, data };
  },
};

export default section;
