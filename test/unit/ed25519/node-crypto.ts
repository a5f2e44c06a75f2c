// node:crypto (OpenSSL) as the reference Ed25519 the core is compared with: raw 32-byte keys wrapped in the
// DER headers OpenSSL wants, and a verdict that is false (not a throw) for a key OpenSSL will not even load.
import crypto from 'node:crypto';

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

export function nodePrivateKey(seed: Uint8Array): crypto.KeyObject {
  return crypto.createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
}

export function nodePublicKey(raw: Uint8Array): crypto.KeyObject {
  return crypto.createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki' });
}

/** node:crypto's verdict on (publicKey, message, signature); false where it refuses the key or signature. */
export function nodeVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return crypto.verify(null, message, nodePublicKey(publicKey), signature);
  } catch {
    return false;
  }
}
