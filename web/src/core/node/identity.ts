// This node's Ed25519 identity, kept in IndexedDB so a reload or an offline start is the same node. The secret
// key is raw bytes because the wasm core signs with it; it never leaves this origin's storage.

import { openDB, type IDBPDatabase } from 'idb';
import { ed25519GenerateSecretKey, ed25519PublicKey } from '../../../../wasm/index.ts';
import { toHex } from '../util/index.ts';

export interface NodeIdentity {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
  /** Lowercase hex of the public key: the node's PeerId. */
  readonly id: string;
  readonly createdAt: number;
}

const DB = 'hygeia-node';
const STORE = 'identity';
const KEY = 'self';

interface Stored {
  secretKey: Uint8Array;
  createdAt: number;
}

function open(): Promise<IDBPDatabase> {
  return openDB(DB, 1, {
    upgrade(db) {
      db.createObjectStore(STORE);
    },
  });
}

/** Loads this node's identity, creating and storing a new key on first start. Needs initCore() first. */
export async function loadOrCreateIdentity(): Promise<NodeIdentity & { created: boolean }> {
  const db = await open();
  try {
    const stored = (await db.get(STORE, KEY)) as Stored | undefined;
    if (stored && stored.secretKey instanceof Uint8Array && stored.secretKey.length === 32) {
      return { ...fromSecret(stored.secretKey, stored.createdAt), created: false };
    }
    const secretKey = ed25519GenerateSecretKey();
    const createdAt = Date.now();
    await db.put(STORE, { secretKey, createdAt } satisfies Stored, KEY);
    return { ...fromSecret(secretKey, createdAt), created: true };
  } finally {
    db.close();
  }
}

export function fromSecret(secretKey: Uint8Array, createdAt = Date.now()): NodeIdentity {
  const publicKey = ed25519PublicKey(secretKey);
  return { secretKey, publicKey, id: toHex(publicKey), createdAt };
}
