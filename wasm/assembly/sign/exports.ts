// What the JS face needs to sign and verify through linear memory: fixed regions for keys and signatures and
// one message region; longer messages are fed to the signer in chunks by a streaming variant.
import { ed25519DerivePublicKey, ed25519SignDetached, ed25519VerifyDetached } from "./ed25519";

export const SIGN_MESSAGE_BYTES: i32 = 65536;
const SEED = memory.data(32, 16);
const PUBLIC_KEY = memory.data(32, 16);
const SIGNATURE = memory.data(64, 16);
const MESSAGE = memory.data(SIGN_MESSAGE_BYTES, 16);

export function signSeedPtr(): usize {
  return SEED;
}

export function signPublicKeyPtr(): usize {
  return PUBLIC_KEY;
}

export function signSignaturePtr(): usize {
  return SIGNATURE;
}

export function signMessagePtr(): usize {
  return MESSAGE;
}

/** Derives the public key of the seed region into the public-key region, then wipes the seed region. */
export function signDerivePublicKey(): void {
  ed25519DerivePublicKey(SEED, PUBLIC_KEY);
  memory.fill(SEED, 0, 32);
}

/** Signs `len` bytes of a message at `msg` (the message region or a larger heap block), then wipes the seed. */
export function signDetached(msg: usize, len: usize): void {
  ed25519SignDetached(SEED, PUBLIC_KEY, msg, len, SIGNATURE);
  memory.fill(SEED, 0, 32);
}

export function signVerify(msg: usize, len: usize): bool {
  return ed25519VerifyDetached(PUBLIC_KEY, msg, len, SIGNATURE);
}

/** A heap block for a message larger than the message region; the face frees it right after use. */
export function signAlloc(len: usize): usize {
  return heap.alloc(len);
}

export function signFree(ptr: usize): void {
  heap.free(ptr);
}
