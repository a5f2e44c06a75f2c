// Ed25519 (RFC 8032) over the wasm core. Keys and signatures pass through fixed regions of linear memory,
// messages through one message region (or a heap block for larger ones). The core wipes the seed, the
// expanded key and the nonce after every call.
import { core, memoryBytes, type CoreExports } from './instance.ts';

interface SignExports extends CoreExports {
  SIGN_MESSAGE_BYTES: WebAssembly.Global;
  signRegionPtr(region: number): number;
  signExpandSeed(): void;
  signWipeSecret(): void;
  signWithSecret(msg: number, len: number): void;
  signDerivePublicKey(): void;
  signVerify(msg: number, len: number): number;
  SIGN_BATCH_ENTRY_BYTES: WebAssembly.Global;
  signVerifyBatch(entries: number, count: number, verdicts: number): number;
  signClearKeyCache(): void;
  signKeyTablesBuilt(): number;
  signAlloc(len: number): number;
  signFree(ptr: number): void;
}

/** Raised for a key or seed of the wrong length (verify never raises: it answers false). */
export class Ed25519InputError extends Error {
  override readonly name = 'Ed25519InputError';
}

/** The core's fixed regions, by the number signRegionPtr takes. */
export const SIGN_REGION = { seed: 0, secret: 1, publicKey: 2, signature: 3, message: 4, scratch: 5 } as const;

// The regions never move, so their offsets are read once per loaded module; copies go through memoryBytes'
// view (rebuilt only when memory grew). A signature then pays for the core's work, not for export calls and
// typed-array allocations around it.
interface Regions {
  e: SignExports;
  seed: number;
  secret: number;
  publicKey: number;
  signature: number;
  message: number;
  messageCap: number;
}
let regions: Regions | null = null;

function current(): Regions {
  const e = core<SignExports>();
  if (regions === null || regions.e !== e) {
    const at = (name: keyof typeof SIGN_REGION) => e.signRegionPtr(SIGN_REGION[name]);
    regions = {
      e,
      seed: at('seed'),
      secret: at('secret'),
      publicKey: at('publicKey'),
      signature: at('signature'),
      message: at('message'),
      messageCap: e.SIGN_MESSAGE_BYTES.value as number,
    };
  }
  return regions;
}

/** Copies bytes into linear memory at ptr. */
function put(r: Regions, ptr: number, bytes: Uint8Array): void {
  memoryBytes(r.e).set(bytes, ptr);
}

/** A copy of len bytes of linear memory at ptr. */
function take(r: Regions, ptr: number, len: number): Uint8Array {
  return memoryBytes(r.e).slice(ptr, ptr + len);
}

function expectLength(what: string, bytes: Uint8Array, length: number): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new Ed25519InputError(`${what} must be ${length} bytes`);
  }
}

/** Puts the message into wasm memory, runs `use(ptr)`, and frees any heap block it needed. */
function withMessage<T>(r: Regions, message: Uint8Array, use: (ptr: number) => T): T {
  if (message.length <= r.messageCap) {
    put(r, r.message, message);
    return use(r.message);
  }
  const ptr = r.e.signAlloc(message.length);
  try {
    put(r, ptr, message);
    return use(ptr);
  } finally {
    r.e.signFree(ptr);
  }
}

export function ed25519PublicKey(secretKey: Uint8Array): Uint8Array {
  expectLength('an Ed25519 secret key (seed)', secretKey, 32);
  const r = current();
  put(r, r.seed, secretKey);
  r.e.signDerivePublicKey();
  return take(r, r.publicKey, 32);
}

/** Signs with only the seed: the core expands it once, derives the public key and signs, wiping as it goes. */
export function ed25519Sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  expectLength('an Ed25519 secret key (seed)', secretKey, 32);
  const r = current();
  return withMessage(r, message, (ptr) => {
    // The seed goes in after any allocation, so nothing can move or fail between write and wipe.
    put(r, r.seed, secretKey);
    try {
      r.e.signExpandSeed();
      r.e.signWithSecret(ptr, message.length);
    } finally {
      r.e.signWipeSecret();
    }
    return take(r, r.signature, 64);
  });
}

/** Never throws: any malformed input (wrong lengths, S >= L, a key that does not decode) gives false. */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  if (!(message instanceof Uint8Array)) return false;
  const r = current();
  return withMessage(r, message, (ptr) => {
    put(r, r.publicKey, publicKey);
    put(r, r.signature, signature);
    return r.e.signVerify(ptr, message.length) === 1;
  });
}

export interface Ed25519BatchItem {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

/** All valid, or the indices (ascending) of the items that do not verify. */
export type Ed25519BatchResult = { ok: true } | { ok: false; bad: number[] };

function wellFormed(item: Ed25519BatchItem): boolean {
  return (
    item !== null &&
    typeof item === 'object' &&
    item.publicKey instanceof Uint8Array &&
    item.publicKey.length === 32 &&
    item.signature instanceof Uint8Array &&
    item.signature.length === 64 &&
    item.message instanceof Uint8Array
  );
}

/**
 * Verifies many signatures in one call. Every item gets exactly ed25519Verify's verdict (cofactorless, so a
 * signature that only a cofactored equation accepts is reported bad here too); the speed comes from a cache
 * of decoded public keys in the core, so repeated signers (validators, returning clients) cost less. Never
 * throws for bad items: malformed ones are reported bad.
 */
export function ed25519VerifyBatch(items: readonly Ed25519BatchItem[]): Ed25519BatchResult {
  const bad: number[] = [];
  const good: number[] = [];
  let bytes = 0;
  items.forEach((item, i) => {
    if (wellFormed(item)) {
      good.push(i);
      bytes += 96 + item.message.length;
    } else {
      bad.push(i);
    }
  });
  if (good.length > 0) {
    const e = core<SignExports>();
    const entryBytes = e.SIGN_BATCH_ENTRY_BYTES.value as number;
    const total = good.length * (entryBytes + 1) + bytes;
    const block = e.signAlloc(total);
    try {
      const view = memoryBytes(e);
      const words = new DataView(e.memory.buffer);
      const entries = block;
      const verdicts = block + good.length * entryBytes;
      let at = verdicts + good.length;
      good.forEach((index, n) => {
        const item = items[index] as Ed25519BatchItem;
        const entry = entries + n * entryBytes;
        view.set(item.publicKey, at);
        view.set(item.signature, at + 32);
        view.set(item.message, at + 96);
        words.setUint32(entry, at, true);
        words.setUint32(entry + 4, at + 32, true);
        words.setUint32(entry + 8, at + 96, true);
        words.setUint32(entry + 12, item.message.length, true);
        at += 96 + item.message.length;
      });
      if (e.signVerifyBatch(entries, good.length, verdicts) > 0) {
        const out = new Uint8Array(e.memory.buffer, verdicts, good.length);
        good.forEach((index, n) => {
          if (out[n] !== 1) bad.push(index);
        });
      }
    } finally {
      e.signFree(block);
    }
  }
  if (bad.length === 0) return { ok: true };
  return { ok: false, bad: bad.sort((x, y) => x - y) };
}

/** Empties the core's cache of decoded public keys (for measurements that must start cold). */
export function ed25519ClearKeyCache(): void {
  core<SignExports>().signClearKeyCache();
}

/** How many public keys' tables the batch verifier has built since the core started (a rebuild is a key it lost). */
export function ed25519KeyTablesBuilt(): number {
  return core<SignExports>().signKeyTablesBuilt();
}

/** A fresh 32-byte secret key (seed) from WebCrypto's CSPRNG. */
export function ed25519GenerateSecretKey(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(32));
}

/**
 * A signing key that derives its public key once, so each signature costs one base-point multiplication
 * (libsodium's 64-byte secret key does the same). The public key is never taken from outside: signing with
 * a mismatched public key would leak the secret.
 */
export class Ed25519Signer {
  readonly publicKey: Uint8Array;
  /** The expanded secret key (clamped scalar ‖ nonce prefix): signing then skips hashing the seed. */
  readonly #secret: Uint8Array;
  #destroyed = false;

  constructor(secretKey: Uint8Array) {
    expectLength('an Ed25519 secret key (seed)', secretKey, 32);
    const r = current();
    put(r, r.seed, secretKey);
    r.e.signExpandSeed();
    this.publicKey = take(r, r.publicKey, 32);
    this.#secret = take(r, r.secret, 64);
    r.e.signWipeSecret();
  }

  sign(message: Uint8Array): Uint8Array {
    if (this.#destroyed) throw new Ed25519InputError('this signer was destroyed');
    const r = current();
    return withMessage(r, message, (ptr) => {
      put(r, r.publicKey, this.publicKey);
      put(r, r.secret, this.#secret);
      r.e.signWithSecret(ptr, message.length);
      return take(r, r.signature, 64);
    });
  }

  /** Zeroes this signer's copy of the secret key; it cannot sign afterwards. */
  destroy(): void {
    this.#secret.fill(0);
    this.#destroyed = true;
  }
}
