// The import journal: how the next start knows that an import never finished. Before an import prepares
// anything it commits a journal row (sealed under the KEK: when it started, how many entries, a label that
// is not patient data); the import's single write transaction deletes that row together with writing every
// resource. A page closed at any point leaves either everything and no journal row, or nothing of the
// import and its journal row.
//
// A journal row may also belong to an import still running in another tab. While it runs, the import holds
// a Web Lock named after its row; at open, a row whose lock is free is an interrupted import. Where there
// are no Web Locks (Node 20), imports running in this process are known directly.
import type { IDBPDatabase } from 'idb';
import { toHex } from '../util/index.ts';
import type { SealedRow } from './layout.ts';
import { decodeUtf8, open, randomBytes, seal } from './keys.ts';
import { aad, encodeJson } from './payload.ts';

export interface InterruptedImport {
  readonly id: string;
  /** ms since the epoch. */
  readonly startedAt: number;
  readonly entries: number;
  /** Plain words about the bundle, never patient data: e.g. "transaction bundle, 94 entries". */
  readonly label: string;
}

interface LockManagerLike {
  request(name: string, options: { ifAvailable: true }, cb: (lock: unknown) => unknown): Promise<unknown>;
  request(name: string, cb: (lock: unknown) => Promise<void>): Promise<unknown>;
}

const locks = (): LockManagerLike | undefined => (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
const runningHere = new Set<string>();

const lockName = (dbName: string, id: string): string => `hygeia/records/import/${dbName}/${id}`;

/** Holds the import's lock until `release` is called. */
function hold(name: string): Promise<() => void> {
  const lm = locks();
  if (lm === undefined) return Promise.resolve(() => undefined);
  return new Promise((granted) => {
    void lm.request(name, () => new Promise<void>((release) => granted(release)));
  });
}

async function isLive(dbName: string, id: string): Promise<boolean> {
  if (runningHere.has(`${dbName}/${id}`)) return true;
  const lm = locks();
  if (lm === undefined) return false;
  return (await lm.request(lockName(dbName, id), { ifAvailable: true }, (lock) => lock === null)) === true;
}

export interface JournalEntry {
  readonly key: string;
  /** Call when the import ended (committed, failed or rejected), whatever the journal row's fate. */
  done(): void;
}

/** Commits the journal row of an import about to start. */
export async function beginImport(db: IDBPDatabase, kek: CryptoKey, info: { entries: number; label: string }): Promise<JournalEntry> {
  const id = toHex(randomBytes(16));
  const release = await hold(lockName(db.name, id));
  runningHere.add(`${db.name}/${id}`);
  const c = await seal(kek, encodeJson({ startedAt: Date.now(), entries: info.entries, label: info.label }), aad.journal(id));
  await db.put('journal', { c } satisfies SealedRow, id);
  return {
    key: id,
    done: () => {
      runningHere.delete(`${db.name}/${id}`);
      release();
    },
  };
}

/** Removes a journal row in its own transaction (an import that ended without writing). */
export async function endImport(db: IDBPDatabase, entry: JournalEntry): Promise<void> {
  try {
    await db.delete('journal', entry.key);
  } finally {
    entry.done();
  }
}

/** The imports whose journal rows remain and whose tabs are gone. */
export async function interruptedImports(db: IDBPDatabase, kek: CryptoKey): Promise<InterruptedImport[]> {
  const keys = (await db.getAllKeys('journal')) as string[];
  const out: InterruptedImport[] = [];
  for (const id of keys) {
    if (await isLive(db.name, id)) continue;
    const row = (await db.get('journal', id)) as SealedRow | undefined;
    if (row === undefined) continue;
    try {
      const p = JSON.parse(decodeUtf8(await open(kek, row.c, aad.journal(id)))) as { startedAt: number; entries: number; label: string };
      out.push({ id, startedAt: p.startedAt, entries: p.entries, label: p.label });
    } catch {
      out.push({ id, startedAt: 0, entries: 0, label: 'an import whose journal could not be read' });
    }
  }
  return out.sort((a, b) => a.startedAt - b.startedAt);
}

/** Re-seals every journal row under a new KEK (after `rekey`). */
export async function resealJournal(db: IDBPDatabase, from: CryptoKey, to: CryptoKey): Promise<{ key: string; value: SealedRow }[]> {
  const keys = (await db.getAllKeys('journal')) as string[];
  const out: { key: string; value: SealedRow }[] = [];
  for (const id of keys) {
    const row = (await db.get('journal', id)) as SealedRow | undefined;
    if (row === undefined) continue;
    try {
      const plain = await open(from, row.c, aad.journal(id));
      out.push({ key: id, value: { c: await seal(to, plain, aad.journal(id)) } });
    } catch {
      // Unreadable already: it stays as it is and is reported as such.
    }
  }
  return out;
}
