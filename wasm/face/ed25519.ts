// Ed25519 (RFC 8032) over the wasm core. Keys and signatures pass through fixed regions of linear memory,
// messages through one message region (or a heap block for larger ones). The core wipes the seed, the
// expanded key and the nonce after every call.
import { core, type CoreExports } from './instance.ts';

interface SignExports extends CoreExports {
  SIGN_MESSAGE_BYTES: WebAssembly.Global;
  signSeedPtr(): number;
  signSecretPtr(): number;
  signScratchPtr(): number;
  SIGN_SCRATCH_BYTES: WebAssembly.Global;
  signExpandSeed(): void;
  signWipeSecret(): void;
  signWithSecret(msg: number, len: number): void;
  signPublicKeyPtr(): number;
  signSignaturePtr(): number;
  signMessagePtr(): number;
  signDerivePublicKey(): void;
  signDetached(msg: number, len: number): void;
  signVerify(msg: number, len: number): number;
  signAlloc(len: number): number;
  signFree(ptr: number): void;
}

/** Raised for a key or seed of the wrong length (verify never raises: it answers false). */
export class Ed25519InputError extends Error {
  override readonly name = 'Ed25519InputError';
}

function ex(): SignExports {
  return core<SignExports>();
}

function expectLength(what: string, bytes: Uint8Array, length: number): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new Ed25519InputError(`${what} must be ${length} bytes`);
  }
}

/** Puts the message into wasm memory, runs `use(ptr)`, and frees any heap block it needed. */
function withMessage<T>(e: SignExports, message: Uint8Array, use: (ptr: number) => T): T {
  if (message.length <= (e.SIGN_MESSAGE_BYTES.value as number)) {
    const ptr = e.signMessagePtr();
    new Uint8Array(e.memory.buffer, ptr, message.length).set(message);
    return use(ptr);
  }
  const ptr = e.signAlloc(message.length);
  try {
    new Uint8Array(e.memory.buffer, ptr, message.length).set(message);
    return use(ptr);
  } finally {
    e.signFree(ptr);
  }
}

export function ed25519PublicKey(secretKey: Uint8Array): Uint8Array {
  expectLength('an Ed25519 secret key (seed)', secretKey, 32);
  const e = ex();
  new Uint8Array(e.memory.buffer, e.signSeedPtr(), 32).set(secretKey);
  e.signDerivePublicKey();
  return new Uint8Array(e.memory.buffer, e.signPublicKeyPtr(), 32).slice();
}

function signWith(secretKey: Uint8Array, publicKey: Uint8Array, message: Uint8Array): Uint8Array {
  const e = ex();
  return withMessage(e, message, (ptr) => {
    // The seed goes in last, after any allocation, so nothing can move or fail between write and wipe.
    new Uint8Array(e.memory.buffer, e.signPublicKeyPtr(), 32).set(publicKey);
    new Uint8Array(e.memory.buffer, e.signSeedPtr(), 32).set(secretKey);
    e.signDetached(ptr, message.length);
    return new Uint8Array(e.memory.buffer, e.signSignaturePtr(), 64).slice();
  });
}

export function ed25519Sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  const publicKey = ed25519PublicKey(secretKey);
  return signWith(secretKey, publicKey, message);
}

/** Never throws: any malformed input (wrong lengths, S >= L, a key that does not decode) gives false. */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  if (!(message instanceof Uint8Array)) return false;
  const e = ex();
  return withMessage(e, message, (ptr) => {
    new Uint8Array(e.memory.buffer, e.signPublicKeyPtr(), 32).set(publicKey);
    new Uint8Array(e.memory.buffer, e.signSignaturePtr(), 64).set(signature);
    return e.signVerify(ptr, message.length) === 1;
  });
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
    const e = ex();
    new Uint8Array(e.memory.buffer, e.signSeedPtr(), 32).set(secretKey);
    e.signExpandSeed();
    this.publicKey = new Uint8Array(e.memory.buffer, e.signPublicKeyPtr(), 32).slice();
    this.#secret = new Uint8Array(e.memory.buffer, e.signSecretPtr(), 64).slice();
    e.signWipeSecret();
  }

  sign(message: Uint8Array): Uint8Array {
    if (this.#destroyed) throw new Ed25519InputError('this signer was destroyed');
    const e = ex();
    return withMessage(e, message, (ptr) => {
      new Uint8Array(e.memory.buffer, e.signPublicKeyPtr(), 32).set(this.publicKey);
      new Uint8Array(e.memory.buffer, e.signSecretPtr(), 64).set(this.#secret);
      e.signWithSecret(ptr, message.length);
      return new Uint8Array(e.memory.buffer, e.signSignaturePtr(), 64).slice();
    });
  }

  /** Zeroes this signer's copy of the secret key; it cannot sign afterwards. */
  destroy(): void {
    this.#secret.fill(0);
    this.#destroyed = true;
  }
}
