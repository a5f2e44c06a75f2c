// Erasure (crypto-shredding done thoroughly, issue 10 finding 7): in one read-write transaction, every row
// filed under the patient is deleted (each resource with all its versions, identifier rows, the owner row
// holding their summary and wrapped data key), a tombstone keyed by a fresh keyed hash of the id refuses a
// re-import, and the wrapping key is replaced: every other owner's data key, and every received package's,
// is rewrapped under the new one and the keyring resealed. A copy of the erased patient's old owner row
// (a backup, an uncompacted page) then needs a wrapping key that the live database no longer holds.
// The cost is one pass over the patient's rows and one rewrap per owner; nothing else is scanned.
import type { IDBPDatabase } from 'idb';
import { GEN_KEY, KEYRING_KEY, OWNER_INDEX, type OwnerRow, type SealedRow } from './layout.ts';
import type { Keychain } from './keychain.ts';
import { keyringOf, openKeyringSecrets, rotatedSecrets, sealKeyring, unwrapDataKey, wipe, wrapDataKey } from './keys.ts';
import { commitWrite, inChunks } from './writer.ts';

/** Erases one owner; false when another writer committed first (read again and retry). */
export async function eraseOwner(db: IDBPDatabase, keys: Keychain, target: { owner: string; tombstone: string }): Promise<boolean> {
  const tx = db.transaction(['meta', 'owners', 'rows', 'received'], 'readonly');
  const [gen, keyringRow, ownerKeys, ownerRows, receivedKeys, receivedRows, rowKeys] = await Promise.all([
    tx.objectStore('meta').get(GEN_KEY) as Promise<Uint8Array | undefined>,
    tx.objectStore('meta').get(KEYRING_KEY) as Promise<SealedRow>,
    tx.objectStore('owners').getAllKeys() as Promise<string[]>,
    tx.objectStore('owners').getAll() as Promise<OwnerRow[]>,
    tx.objectStore('received').getAllKeys() as Promise<string[]>,
    tx.objectStore('received').getAll() as Promise<OwnerRow[]>,
    tx.objectStore('rows').index(OWNER_INDEX).getAllKeys(target.owner) as Promise<string[]>,
  ]);
  await tx.done;

  const old = await openKeyringSecrets(keys.keyEncryptionKey, keyringRow.c);
  const next = rotatedSecrets(old);
  const oldKeyring = await keyringOf(old);
  const nextKeyring = await keyringOf(next);
  const sealedKeyring = await sealKeyring(keys.keyEncryptionKey, next);
  wipe(old);
  wipe(next);

  const rewrap = async (row: OwnerRow): Promise<OwnerRow> => {
    const dataKey = await unwrapDataKey(oldKeyring.wrap, row.w, true);
    return { w: await wrapDataKey(nextKeyring.wrap, dataKey), c: row.c };
  };
  const owners = ownerKeys.map((k, i) => ({ k, row: ownerRows[i]! })).filter((o) => o.k !== target.owner);
  const ownerPuts = await inChunks(owners, async (o) => ({ store: 'owners' as const, key: o.k, value: await rewrap(o.row) }));
  const receivedPuts = await inChunks(receivedKeys, async (k, i) => ({ store: 'received' as const, key: k, value: await rewrap(receivedRows[i]!) }));

  const ok = await commitWrite(
    db,
    gen,
    ownerPuts,
    undefined,
    undefined,
    [...rowKeys.map((key) => ({ store: 'rows' as const, key })), { store: 'owners' as const, key: target.owner }],
    [...receivedPuts, { store: 'tombstones', key: target.tombstone, value: 1 }, { store: 'meta', key: KEYRING_KEY, value: { c: sealedKeyring } satisfies SealedRow }],
  );
  if (ok) keys.install(nextKeyring);
  return ok;
}
