// The Ed25519 operations net/ and node/ use, from the wasm core (one place to see what we depend on).
export { ed25519GenerateSecretKey, ed25519PublicKey, ed25519Sign, ed25519Verify } from '../../../../wasm/index.ts';
