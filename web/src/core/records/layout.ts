// What the record store keeps in IndexedDB (version 2). Every key is a random or keyed 64-hex tag, every
// value a padded AES-GCM blob; README.md lists exactly what stays visible and why.
//
//   meta        'keyring' -> { c }       the keyring, sealed under the clinic key's KEK
//               'gen'     -> Uint8Array  16 random bytes, replaced by every write (optimistic concurrency)
//   owners      owner tag -> { w, c }    w: the owner's AES-KW-wrapped data key; c: its summary, sealed under
//                                        that data key (a patient's demographics and counts, for the patient list)
//   rows        row tag   -> { o, c }    o: the owner tag (for erasure and a patient's records); c: a resource
//                                        with every version, or an identifier's target, sealed under o's data key
//   tombstones  tag       -> 1           patients erased here (a keyed hash of the id, never the tags they had)
//   journal     random id -> { c }       an import in progress, sealed under the KEK; removed by the import's
//                                        own write, so a row found at open is an import that never committed
//   received    tag       -> { w, c }    records released to us by another clinic, under their own data key
import { openDB, type IDBPDatabase } from 'idb';

export const RECORDS_DB_VERSION = 2;

export interface OwnerRow {
  w: Uint8Array;
  c: Uint8Array;
}
export interface DataRow {
  o: string;
  c: Uint8Array;
}
export interface SealedRow {
  c: Uint8Array;
}
export type ReceivedRow = OwnerRow;

export const KEYRING_KEY = 'keyring';
export const GEN_KEY = 'gen';
export const OWNER_INDEX = 'owner';

export async function openRecordsDb(name: string): Promise<IDBPDatabase> {
  return openDB(name, RECORDS_DB_VERSION, {
    upgrade(db, oldVersion) {
      // Version 1 (datakeys / records / versions / identifiers) was never composed into a product; its
      // layout leaked version counts and type tags, and nothing of it can be carried over without the keys
      // (an upgrade transaction cannot wait on WebCrypto). Its stores are dropped.
      if (oldVersion === 1) for (const s of ['datakeys', 'records', 'versions', 'identifiers']) if (db.objectStoreNames.contains(s)) db.deleteObjectStore(s);
      db.createObjectStore('meta');
      db.createObjectStore('owners');
      db.createObjectStore('rows').createIndex(OWNER_INDEX, 'o');
      db.createObjectStore('tombstones');
      db.createObjectStore('journal');
      db.createObjectStore('received');
    },
    blocking(_current, _next, event) {
      // Another tab upgrades the database: step aside so it can.
      (event.target as IDBDatabase).close();
    },
  });
}
