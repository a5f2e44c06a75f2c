/// <reference types="fhir" />
// Writing resources all or nothing. An IndexedDB transaction commits as soon as it waits on anything but
// IndexedDB, so a write has three stages:
//   1. read: one read-only transaction fetches the rows, owners, tombstones and the write generation;
//   2. prepare: decrypt what is needed, compare, pick versions and salts, encrypt every new row (WebCrypto);
//   3. commit: one read-write transaction checks that the generation is unchanged (no other tab wrote in
//      between; else the whole write starts again), puts every row, removes the import's journal row and
//      sets a new generation. A page closed during any stage leaves the database as it was before.
import type { IDBPDatabase } from 'idb';
import { equalBytes } from '../util/index.ts';
import { canonicalJson } from '../codec/index.ts';
import { RecordError } from './errors.ts';
import { GEN_KEY, type DataRow, type OwnerRow } from './layout.ts';
import type { Keychain } from './keychain.ts';
import { open, randomBytes, seal } from './keys.ts';
import { aad, commitmentOfCanonical, decodeRowPayload, decodeSummary, encodeJson, encodeResourcePayload, newSalt, type ResourcePayload, type StoredVersion } from './payload.ts';
import { emptySummary, withCounts, withPatient, type OwnerSummary } from './summary.ts';

export interface WriteItem {
  readonly resource: fhir4.Resource & { id: string };
  readonly canonical: string;
  /** The owner tag, and the patient's id (null for the shared owner). */
  readonly owner: string;
  readonly patient: string | null;
  readonly rowTag: string;
  readonly identTags: readonly string[];
  readonly anchorId: string;
}

/** What to put on the ledger for one version: its opaque record name, version and commitment. */
export interface Anchor {
  readonly anchorId: string;
  readonly version: number;
  readonly commitment: Uint8Array;
}

export type ItemOutcome =
  { readonly kind: 'new' | 'updated' | 'unchanged'; readonly version: number; readonly anchor: Anchor | null } | { readonly kind: 'rejected'; readonly reason: string };

export interface Progress {
  readonly phase: 'validating' | 'encrypting' | 'storing';
  readonly done: number;
  readonly total: number;
}
export type ProgressFn = (p: Progress) => void;

export interface PreparedWrite {
  readonly outcomes: ItemOutcome[];
  /** Commits (true) or finds that another writer got in first (false: prepare again). */
  commit(opts?: { journalKey?: string; onProgress?: ProgressFn }): Promise<boolean>;
  /** Owner summaries as they will be after the commit (for the in-memory cache). */
  readonly summaries: ReadonlyMap<string, OwnerSummary>;
  /** Owners created by this write and their data keys (adopted into the cache after the commit). */
  readonly createdKeys: ReadonlyMap<string, CryptoKey>;
}

const CHUNK = 256;

/** Runs `fn` over `items` with at most CHUNK promises in flight, reporting each one done. */
export async function inChunks<T, R>(items: readonly T[], fn: (x: T, i: number) => Promise<R>, onDone?: (done: number) => void): Promise<R[]> {
  const out: R[] = new Array(items.length);
  for (let i = 0; i < items.length; i += CHUNK) {
    const slice = items.slice(i, i + CHUNK);
    const rs = await Promise.all(slice.map((x, j) => fn(x, i + j)));
    rs.forEach((r, j) => (out[i + j] = r));
    onDone?.(Math.min(items.length, i + CHUNK));
  }
  return out;
}

interface RowState {
  owner: string;
  history: StoredVersion[];
  changed: boolean;
  latestCanonical: string | undefined;
  type: string;
  id: string;
}

export async function prepareWrite(db: IDBPDatabase, keys: Keychain, items: readonly WriteItem[], onProgress?: ProgressFn): Promise<PreparedWrite> {
  const rowTags = [...new Set(items.map((i) => i.rowTag))];
  const owners = [...new Set(items.map((i) => i.owner))];
  const rtx = db.transaction(['meta', 'owners', 'rows'], 'readonly');
  const [gen, ownerRows, rows] = await Promise.all([
    rtx.objectStore('meta').get(GEN_KEY) as Promise<Uint8Array | undefined>,
    Promise.all(owners.map((o) => rtx.objectStore('owners').get(o) as Promise<OwnerRow | undefined>)),
    Promise.all(rowTags.map((t) => rtx.objectStore('rows').get(t) as Promise<DataRow | undefined>)),
  ]);
  await rtx.done;

  // Owners: their data keys and summaries (new owners get a fresh key, wrapped under the current epoch).
  const dataKeys = new Map<string, CryptoKey>();
  const wrapped = new Map<string, Uint8Array>();
  const summaries = new Map<string, OwnerSummary>();
  const createdKeys = new Map<string, CryptoKey>();
  const patientOf = new Map(items.map((i) => [i.owner, i.patient]));
  await inChunks(owners, async (o, i) => {
    const row = ownerRows[i];
    if (row !== undefined) {
      const key = await keys.dataKey(o, row);
      dataKeys.set(o, key);
      wrapped.set(o, row.w);
      summaries.set(o, decodeSummary(await open(key, row.c, aad.owner(o))));
    } else {
      const { key, wrapped: w } = await keys.fresh();
      dataKeys.set(o, key);
      wrapped.set(o, w);
      createdKeys.set(o, key);
      summaries.set(o, emptySummary(patientOf.get(o) ?? null));
    }
  });

  // Existing rows: decrypted once, to compare contents and append a version.
  const state = new Map<string, RowState>();
  await inChunks(rowTags, async (t, i) => {
    const row = rows[i];
    if (row === undefined) return;
    const key = dataKeys.get(row.o) ?? (await ownerKey(db, keys, row.o));
    const p = decodeRowPayload(await open(key, row.c, aad.row(t)));
    if (p.k !== 'r') throw new RecordError('tampered', 'a resource row holds an identifier');
    state.set(t, { owner: row.o, history: [...(p as ResourcePayload).h], changed: false, latestCanonical: undefined, type: p.t, id: p.i });
  });

  const outcomes: ItemOutcome[] = [];
  const added = new Map<string, Map<string, number>>();
  const patients = new Map<string, fhir4.Patient>();
  const identWrites = new Map<string, { owner: string; ref: string }>();
  for (const item of items) {
    const { resourceType: type, id } = item.resource;
    let s = state.get(item.rowTag);
    if (s !== undefined && s.owner !== item.owner) {
      outcomes.push({ kind: 'rejected', reason: 'this resource is filed under another patient here; it cannot move' });
      continue;
    }
    const latest = s?.history[s.history.length - 1];
    const latestCanonical = s?.latestCanonical ?? (latest === undefined ? undefined : canonicalOf(latest));
    if (latest !== undefined && latestCanonical === item.canonical) {
      outcomes.push({ kind: 'unchanged', version: latest.v, anchor: null });
      continue;
    }
    const version = (latest?.v ?? 0) + 1;
    const salt = newSalt();
    const stored: StoredVersion = { v: version, s: salt, r: item.resource };
    if (s === undefined) {
      s = { owner: item.owner, history: [], changed: true, latestCanonical: undefined, type, id };
      state.set(item.rowTag, s);
      let m = added.get(item.owner);
      if (m === undefined) added.set(item.owner, (m = new Map()));
      m.set(type, (m.get(type) ?? 0) + 1);
    }
    s.history.push(stored);
    s.changed = true;
    s.latestCanonical = item.canonical;
    if (type === 'Patient') patients.set(item.owner, item.resource as fhir4.Patient);
    for (const t of item.identTags) identWrites.set(t, { owner: item.owner, ref: `${type}/${id}` });
    const commitment = commitmentOfCanonical(salt, item.canonical);
    outcomes.push({ kind: latest === undefined ? 'new' : 'updated', version, anchor: { anchorId: item.anchorId, version, commitment } });
  }

  for (const o of new Set([...added.keys(), ...patients.keys()])) {
    let s = summaries.get(o)!;
    const p = patients.get(o);
    if (p !== undefined) s = withPatient(s, p);
    summaries.set(o, withCounts(s, added.get(o) ?? new Map()));
  }

  // Encrypt every changed row, identifier row and touched owner.
  const changedRows = [...state].filter(([, s]) => s.changed);
  const touched = owners.filter((o) => createdKeys.has(o) || added.has(o) || patients.has(o));
  const total = changedRows.length + identWrites.size + touched.length;
  const puts: { store: 'rows' | 'owners'; key: string; value: DataRow | OwnerRow }[] = [];
  const sealRow = async ([tag, s]: [string, RowState]): Promise<void> => {
    const c = await seal(dataKeys.get(s.owner)!, encodeResourcePayload(s.type, s.id, s.history, s.latestCanonical), aad.row(tag));
    puts.push({ store: 'rows', key: tag, value: { o: s.owner, c } });
  };
  const sealIdent = async ([tag, w]: [string, { owner: string; ref: string }]): Promise<void> => {
    const c = await seal(dataKeys.get(w.owner)!, encodeJson({ k: 'x', ref: w.ref }), aad.row(tag));
    puts.push({ store: 'rows', key: tag, value: { o: w.owner, c } });
  };
  const sealOwner = async (o: string): Promise<void> => {
    const c = await seal(dataKeys.get(o)!, encodeJson(summaries.get(o)), aad.owner(o));
    puts.push({ store: 'owners', key: o, value: { w: wrapped.get(o)!, c } });
  };
  // One pass over all three kinds: each seal is a round trip to WebCrypto, and a single update (one row, its
  // owner) would otherwise wait for them one after another.
  const seals: (() => Promise<void>)[] = [
    ...changedRows.map((r) => () => sealRow(r)),
    ...[...identWrites].map((w) => () => sealIdent(w)),
    ...touched.map((o) => () => sealOwner(o)),
  ];
  await inChunks(
    seals,
    (run) => run(),
    (n) => onProgress?.({ phase: 'encrypting', done: n, total }),
  );

  return {
    outcomes,
    summaries,
    createdKeys,
    commit: (opts = {}) => commitWrite(db, gen, puts, opts.journalKey, opts.onProgress),
  };
}

function canonicalOf(h: StoredVersion): string {
  return canonicalJson(h.r);
}

async function ownerKey(db: IDBPDatabase, keys: Keychain, owner: string): Promise<CryptoKey> {
  const row = (await db.get('owners', owner)) as OwnerRow | undefined;
  if (row === undefined) throw new RecordError('tampered', 'a row names an owner that has no key');
  return keys.dataKey(owner, row);
}

/** The commit stage: every put in one read-write transaction, or none. */
export async function commitWrite(
  db: IDBPDatabase,
  expectedGen: Uint8Array | undefined,
  puts: readonly { store: 'rows' | 'owners'; key: string; value: unknown }[],
  journalKey: string | undefined,
  onProgress?: ProgressFn,
  deletes: readonly { store: 'rows' | 'owners' | 'tombstones' | 'received' | 'meta'; key: string }[] = [],
  extraPuts: readonly { store: 'tombstones' | 'received' | 'meta'; key: string; value: unknown }[] = [],
): Promise<boolean> {
  const tx = db.transaction(['meta', 'owners', 'rows', 'journal', 'tombstones', 'received'], 'readwrite', { durability: 'strict' });
  const gen = (await tx.objectStore('meta').get(GEN_KEY)) as Uint8Array | undefined;
  if (!sameGen(gen, expectedGen)) {
    tx.abort();
    await tx.done.catch(() => undefined);
    return false;
  }
  const total = puts.length + deletes.length + extraPuts.length;
  const step = Math.max(1, Math.floor(total / 100));
  let done = 0;
  const progress = (): void => {
    done++;
    if (onProgress !== undefined && (done % step === 0 || done === total)) onProgress({ phase: 'storing', done, total });
  };
  const pending: Promise<unknown>[] = [];
  for (const d of deletes) pending.push(tx.objectStore(d.store).delete(d.key).then(progress));
  for (const p of puts) pending.push(tx.objectStore(p.store).put(p.value, p.key).then(progress));
  for (const p of extraPuts) pending.push(tx.objectStore(p.store).put(p.value, p.key).then(progress));
  if (journalKey !== undefined) pending.push(tx.objectStore('journal').delete(journalKey));
  pending.push(tx.objectStore('meta').put(randomBytes(16), GEN_KEY));
  try {
    await Promise.all([...pending, tx.done]);
  } catch (e) {
    // The transaction aborted as a whole: nothing of it is in the database.
    tx.done.catch(() => undefined);
    if (e instanceof DOMException) throw new RecordError('storage', `the database did not take the write (${e.name}); nothing of it was stored`);
    throw e;
  }
  return true;
}

function sameGen(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a instanceof Uint8Array && equalBytes(a, b);
}
