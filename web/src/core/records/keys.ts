// The record store's key hierarchy (web/src/core/records/README.md draws it):
//
//   clinic key (32 bytes, from the node's vault)
//     └─ HKDF → KEK (AES-GCM): seals the keyring row and the import journal
//          keyring = { epoch, index, ledger, wrap }   (random at creation, except `ledger`, see below)
//            index  (HMAC-SHA-256): the database's row keys and owner tags. Random per store, so two stores
//                   (two tablets, two test runs) never share a tag for the same resource or patient.
//            ledger (HMAC-SHA-256): pseudonyms and anchor ids, the names the ledger sees. Derived once from
//                   the clinic key at creation and then kept, so they survive `rekey` and stay the clinic's.
//            wrap   (AES-KW): wraps every owner's AES-GCM data key. Replaced on every erasure (epoch + 1),
//                   every other data key rewrapped in the same transaction.
//
// Tags are HMAC-SHA-256 over the wasm core's SHA-256 (synchronous: WebCrypto's HMAC costs a promise and a
// thread hop per tag, ten times the hash itself). Data keys and the wrapping key stay non-extractable.
import { sha256 } from '../../../../wasm/index.ts';
import { toHex } from '../util/index.ts';
import { RecordError } from './errors.ts';

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

const KEYRING_FORMAT = 1;
const KEYRING_AAD = utf8.encode('hygeia/records/keyring/v1');

/** HMAC-SHA-256 with the pads precomputed once per key. */
export class Hmac {
  readonly #inner: Uint8Array;
  readonly #outer: Uint8Array;

  constructor(key: Uint8Array) {
    if (key.length > 64) throw new RecordError('bad-key', 'an HMAC key longer than a block');
    this.#inner = new Uint8Array(64).fill(0x36);
    this.#outer = new Uint8Array(64 + 32).fill(0x5c);
    for (let i = 0; i < key.length; i++) {
      this.#inner[i]! ^= key[i]!;
      this.#outer[i]! ^= key[i]!;
    }
  }

  mac(message: Uint8Array): Uint8Array {
    const inner = new Uint8Array(64 + message.length);
    inner.set(this.#inner);
    inner.set(message, 64);
    const outer = this.#outer.slice();
    outer.set(sha256(inner), 64);
    return sha256(outer);
  }

  /** A keyed tag for a label: 64 lower-case hex characters. Equal labels, equal tags; nothing else learned. */
  tag(label: string): string {
    return toHex(this.mac(utf8.encode(label)));
  }
}

export interface Keyring {
  readonly epoch: number;
  readonly index: Hmac;
  readonly ledger: Hmac;
  readonly wrap: CryptoKey;
}

/** The keyring's secrets as stored (sealed): kept only while a keyring is being created or rotated. */
interface KeyringSecrets {
  epoch: number;
  index: Uint8Array;
  ledger: Uint8Array;
  wrap: Uint8Array;
}

async function hkdf(clinicKey: Uint8Array, info: string, usage: 'AES-GCM' | 'bits'): Promise<CryptoKey | Uint8Array> {
  if (!(clinicKey instanceof Uint8Array) || clinicKey.length !== 32) throw new RecordError('bad-key', 'the clinic key must be 32 bytes');
  const ikm = await subtle().importKey('raw', clinicKey as BufferSource, 'HKDF', false, ['deriveKey', 'deriveBits']);
  const params: HkdfParams = { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: utf8.encode(info) };
  if (usage === 'bits') return new Uint8Array(await subtle().deriveBits(params, ikm, 256));
  return subtle().deriveKey(params, ikm, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

/** The key-encryption key of a clinic key: it seals the keyring and the import journal. */
export async function deriveKek(clinicKey: Uint8Array): Promise<CryptoKey> {
  return (await hkdf(clinicKey, 'hygeia/records/kek/v1', 'AES-GCM')) as CryptoKey;
}

/** A fresh keyring for a new store: random index and wrap secrets, the ledger secret from the clinic key. */
export async function newKeyringSecrets(clinicKey: Uint8Array): Promise<KeyringSecrets> {
  const ledger = (await hkdf(clinicKey, 'hygeia/records/ledger/v1', 'bits')) as Uint8Array;
  return { epoch: 0, index: randomBytes(32), ledger, wrap: randomBytes(32) };
}

/** The same keyring with a fresh wrapping key (erasure). */
export function rotatedSecrets(s: KeyringSecrets): KeyringSecrets {
  return { epoch: s.epoch + 1, index: s.index, ledger: s.ledger, wrap: randomBytes(32) };
}

export async function sealKeyring(kek: CryptoKey, s: KeyringSecrets): Promise<Uint8Array> {
  const body = new Uint8Array(1 + 4 + 96);
  const view = new DataView(body.buffer);
  body[0] = KEYRING_FORMAT;
  view.setUint32(1, s.epoch);
  body.set(s.index, 5);
  body.set(s.ledger, 37);
  body.set(s.wrap, 69);
  const sealed = await seal(kek, body, KEYRING_AAD);
  body.fill(0);
  return sealed;
}

export async function openKeyringSecrets(kek: CryptoKey, sealed: Uint8Array): Promise<KeyringSecrets> {
  let body: Uint8Array;
  try {
    body = await open(kek, sealed, KEYRING_AAD);
  } catch {
    throw new RecordError('bad-key', 'the clinic key does not open this record store');
  }
  if (body.length !== 101 || body[0] !== KEYRING_FORMAT) throw new RecordError('tampered', 'the keyring has an unknown format');
  const epoch = new DataView(body.buffer, body.byteOffset).getUint32(1);
  return { epoch, index: body.slice(5, 37), ledger: body.slice(37, 69), wrap: body.slice(69, 101) };
}

export async function keyringOf(s: KeyringSecrets): Promise<Keyring> {
  const wrap = await subtle().importKey('raw', s.wrap as BufferSource, 'AES-KW', false, ['wrapKey', 'unwrapKey']);
  return { epoch: s.epoch, index: new Hmac(s.index), ledger: new Hmac(s.ledger), wrap };
}

export function wipe(s: KeyringSecrets): void {
  s.index.fill(0);
  s.ledger.fill(0);
  s.wrap.fill(0);
}

export function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/** A new owner data key: generated extractable only long enough to be wrapped, then kept non-extractable. */
export async function newDataKey(wrapKey: CryptoKey): Promise<{ key: CryptoKey; wrapped: Uint8Array }> {
  const fresh = await subtle().generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
  const wrapped = await wrapDataKey(wrapKey, fresh);
  return { key: await unwrapDataKey(wrapKey, wrapped), wrapped };
}

export async function wrapDataKey(wrapKey: CryptoKey, dataKey: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await subtle().wrapKey('raw', dataKey, wrapKey, 'AES-KW'));
}

/** Unwraps a data key; extractable only when it is to be rewrapped under a new wrapping key. */
export async function unwrapDataKey(wrapKey: CryptoKey, wrapped: Uint8Array, extractable = false): Promise<CryptoKey> {
  try {
    return await subtle().unwrapKey('raw', wrapped as BufferSource, wrapKey, 'AES-KW', { name: 'AES-GCM', length: 256 }, extractable, ['encrypt', 'decrypt']);
  } catch {
    throw new RecordError('tampered', 'a wrapped data key does not unwrap under this store’s wrapping key');
  }
}

/** AES-GCM with a fresh 96-bit IV, returned as iv ‖ ciphertext; `aad` binds the blob to its slot. */
export async function seal(key: CryptoKey, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  const iv = randomBytes(12);
  const ct = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv: iv as BufferSource, additionalData: aad as BufferSource }, key, plaintext as BufferSource));
  const out = new Uint8Array(12 + ct.length);
  out.set(iv);
  out.set(ct, 12);
  return out;
}

export async function open(key: CryptoKey, blob: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  if (!(blob instanceof Uint8Array) || blob.length < 12 + 16) throw new RecordError('tampered', 'a stored blob is too short');
  try {
    return new Uint8Array(
      await subtle().decrypt({ name: 'AES-GCM', iv: blob.subarray(0, 12) as BufferSource, additionalData: aad as BufferSource }, key, blob.subarray(12) as BufferSource),
    );
  } catch {
    throw new RecordError('tampered', 'a stored record failed authenticated decryption');
  }
}

export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return fromUtf8.decode(bytes);
  } catch {
    throw new RecordError('tampered', 'a stored record is not UTF-8');
  }
}

export function sha256Bytes(data: Uint8Array): Uint8Array {
  return sha256(data);
}
