/// <reference types="fhir" />
// The clinic's record store: FHIR R4 resources in IndexedDB, encrypted at rest under one data key per patient
// (layout.ts lists the rows; README.md what remains visible and why).
//
//   - An import is all or nothing: validated (FHIR R4), references resolved, every resource filed under its
//     patient, encrypted, and written in one transaction that also removes its journal row (writer.ts,
//     journal.ts). A transaction bundle with one bad entry imports nothing.
//   - Erasure deletes every row of the patient and rotates the wrapping key (erasure.ts).
//   - The patient list decrypts each patient's sealed summary on the tablet (summary.ts).
//   - Each version's commitment H(salt ‖ canonical(resource)) is what the ledger anchors; the salt stays here
//     until a release hands it to a requester allowed to check it.
import type { IDBPDatabase } from 'idb';
import { initCore } from '../../../../wasm/index.ts';
import { canonicalJson } from '../codec/index.ts';
import { equalBytes, fromHex, timeSlicer } from '../util/index.ts';
import { scanReferences, attribute, type LogicalPatientRef } from './attribution.ts';
import {
  BundleError,
  bundleShape,
  identifierKey,
  identifierKeysOf,
  isObject,
  isValidId,
  isValidResourceType,
  prepareBundle,
  type PreparedEntry,
  type Rejection,
} from './bundle.ts';
import { StoreChannel, type StoreEvent } from './channel.ts';
import { eraseOwner } from './erasure.ts';
import { RecordError } from './errors.ts';
import { beginImport, endImport, interruptedImports, resealJournal, type InterruptedImport } from './journal.ts';
import { Keychain } from './keychain.ts';
import { deriveKek, open, openKeyringSecrets, sealKeyring } from './keys.ts';
import { KEYRING_KEY, OWNER_INDEX, openRecordsDb, type DataRow, type OwnerRow, type SealedRow } from './layout.ts';
import { aad, decodeRowPayload, decodeSummary, versionCommitment, type ResourcePayload } from './payload.ts';
import { byName, matches, type OwnerSummary } from './summary.ts';
import { loadFhirDefinitions, unresolvedReferences, validateLoaded } from './validation.ts';
import { prepareWrite, type Anchor, type ItemOutcome, type ProgressFn, type WriteItem } from './writer.ts';
import { ReceivedShelf, type ReceivedRecords } from './received.ts';
import type { ReleasedItem } from './release.ts';

export type { Anchor } from './writer.ts';

export interface ImportReport {
  /** Resources stored (new, updated or already there unchanged), per resource type. */
  readonly imported: Record<string, number>;
  readonly rejected: Rejection[];
  /** Entries already stored with identical content (re-imports): counted in `imported`, no new version. */
  readonly unchanged: number;
  /** What to anchor on the ledger: one triple per new version this import wrote. */
  readonly anchors: Anchor[];
  /** The patients whose records this import touched. */
  readonly patients: string[];
}

export interface PutResult {
  readonly version: number;
  readonly changed: boolean;
  /** The anchor of the new version (null when the content was already stored). */
  readonly anchor: Anchor | null;
}

export interface RecordAnchor {
  readonly resourceType: string;
  readonly id: string;
  readonly anchorId: string;
  readonly version: number;
  readonly commitment: Uint8Array;
}

export interface PatientListEntry {
  readonly id: string;
  readonly name: string;
  readonly birthDate: string | null;
  readonly gender: string | null;
  readonly identifiers: { system: string; value: string }[];
  readonly counts: Record<string, number>;
  readonly erased: boolean;
  readonly linkedDevices: number;
}

export interface PatientChartData {
  readonly patient: fhir4.Patient;
  readonly conditions: fhir4.Condition[];
  readonly medications: (fhir4.MedicationRequest | fhir4.MedicationStatement)[];
  readonly encounters: fhir4.Encounter[];
  readonly observations: fhir4.Observation[];
  readonly counts: Record<string, number>;
}

export interface OpenOptions {
  /** Validate every imported or put resource against FHIR R4 (default true). */
  readonly validate?: boolean;
}

const MAX_WRITE_ATTEMPTS = 5;
const SHARED = 'shared';

type Filed = { entry: PreparedEntry; item: WriteItem } | { entry: PreparedEntry; reject: string };

export class RecordStore {
  #interrupted: InterruptedImport[];
  /** Owner summaries, all of them once `#allSummaries` is true; dropped when another tab writes. */
  #summaries = new Map<string, OwnerSummary>();
  #allSummaries = false;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #channel: StoreChannel;
  readonly #received: ReceivedShelf;

  private constructor(
    readonly db: IDBPDatabase,
    private readonly keys: Keychain,
    interrupted: InterruptedImport[],
    private readonly validate: boolean,
  ) {
    this.#interrupted = interrupted;
    this.#channel = new StoreChannel(db.name, (e) => void this.onEvent(e));
    this.#received = new ReceivedShelf(db, keys);
  }

  /** Opens (or creates) the store; RecordError 'bad-key' if the clinic key is not this store's. */
  static async open(dbName: string, clinicKey: Uint8Array, opts: OpenOptions = {}): Promise<RecordStore> {
    await initCore();
    const kek = await deriveKek(clinicKey);
    const db = await openRecordsDb(dbName);
    try {
      const keys = await Keychain.open(db, kek, clinicKey);
      return new RecordStore(db, keys, await interruptedImports(db, kek), opts.validate ?? true);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  close(): void {
    this.#channel.close();
    this.keys.forgetAll();
    this.#summaries.clear();
    this.db.close();
  }

  private async onEvent(e: StoreEvent): Promise<void> {
    this.#summaries.clear();
    this.#allSummaries = false;
    if (e === 'rotated') {
      this.keys.forgetAll();
      await this.keys.reload().catch(() => undefined);
    }
  }

  /** Writes run one at a time in this instance (other tabs are kept apart by the write generation). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  // ---- names ------------------------------------------------------------------------------------------------

  /** The patient's pseudonym on the ledger: a keyed hash, unlinkable without this clinic's keyring. */
  pseudonym(patientId: string): string {
    return this.keys.keyring.ledger.tag('pseudonym|' + patientId);
  }

  /** The opaque name a resource's anchors carry on the ledger (64 hex characters). */
  anchorId(resourceType: string, id: string): string {
    return this.keys.keyring.ledger.tag(`anchor|${resourceType}/${id}`);
  }

  private ownerTag(patientId: string | null): string {
    return this.keys.keyring.index.tag(patientId === null ? 'owner|' + SHARED : 'owner|patient|' + patientId);
  }
  private rowTag(resourceType: string, id: string): string {
    return this.keys.keyring.index.tag(`row|${resourceType}/${id}`);
  }
  private identTag(key: string): string {
    return this.keys.keyring.index.tag('ident|' + key);
  }
  private tombstoneTag(patientId: string): string {
    return this.keys.keyring.index.tag('erased|' + patientId);
  }

  /**
   * The key of the raw row that holds a resource (every version of it). For tamper tests and the evaluation:
   * an attacker with the database sees only opaque keys; this tells a test which one to edit.
   */
  rowKeyOf(resourceType: string, id: string): string {
    return this.rowTag(resourceType, id);
  }

  // ---- interrupted imports ----------------------------------------------------------------------------------

  /** Imports that a closed page interrupted before they committed (nothing of them was kept). */
  interruptedImports(): InterruptedImport[] {
    return [...this.#interrupted];
  }

  /** Forgets interrupted imports once the staff have seen them (all, or those named). */
  async dismissInterruptedImports(ids?: readonly string[]): Promise<void> {
    const drop = ids === undefined ? this.#interrupted.map((i) => i.id) : ids;
    const tx = this.db.transaction('journal', 'readwrite');
    await Promise.all([...drop.map((id) => tx.store.delete(id)), tx.done]);
    this.#interrupted = this.#interrupted.filter((i) => !drop.includes(i.id));
  }

  // ---- writing ------------------------------------------------------------------------------------------------

  /**
   * Imports a FHIR batch, transaction or collection bundle. A transaction is stored whole or not at all (one
   * rejected entry rejects it); a batch or collection keeps its good entries. Either way the write is atomic:
   * a page closed mid-import leaves nothing of it, and the next `open` lists it in `interruptedImports()`.
   */
  async importBundle(bundle: unknown, opts: { onProgress?: ProgressFn; /** @internal per entry, for putAll */ results?: PutResult[] } = {}): Promise<ImportReport> {
    let shape;
    try {
      shape = bundleShape(bundle);
    } catch (e) {
      if (e instanceof BundleError) throw new RecordError('malformed', e.message);
      throw e;
    }
    const label = `${shape.type} bundle, ${shape.entries.length} ${shape.entries.length === 1 ? 'entry' : 'entries'}`;
    // The journal row is written while the bundle is prepared (a database round trip off a nurse's wait); it is
    // awaited before anything of the import is written, so an interrupted import is still always journalled.
    const journalling = beginImport(this.db, this.keys.keyEncryptionKey, { entries: shape.entries.length, label });
    let committed = false;
    try {
      return await this.exclusive(async () => {
        for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
          const prepared = await prepareBundle(bundle, (t, s, v) => this.resolveIdentifier(t, s, v));
          const filed = await this.fileEntries(prepared.entries, opts.onProgress, prepared.rejected.length);
          const rejected: Rejection[] = [...prepared.rejected];
          const items: { entry: PreparedEntry; item: WriteItem }[] = [];
          for (const f of filed) {
            if ('reject' in f) rejected.push({ index: f.entry.index, resourceType: f.entry.resource.resourceType, reason: f.reject });
            else items.push(f);
          }
          const write = await prepareWrite(
            this.db,
            this.keys,
            items.map((i) => i.item),
            opts.onProgress,
          );
          const report = this.reportOf(items, write.outcomes, rejected);
          if (report.rejected.length > 0 && prepared.type === 'transaction') {
            return { imported: {}, rejected: [wholeTransactionRejected(), ...report.rejected], unchanged: 0, anchors: [], patients: [] };
          }
          const journal = await journalling;
          if (await write.commit({ journalKey: journal.key, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) })) {
            committed = true;
            if (opts.results !== undefined) {
              const byIndex = new Map(items.map((it, i) => [it.entry.index, write.outcomes[i]!]));
              shape.entries.forEach((_e, index) => {
                const o = byIndex.get(index);
                opts.results!.push(
                  o === undefined || o.kind === 'rejected'
                    ? { version: -1, changed: false, anchor: null }
                    : { version: o.version, changed: o.kind !== 'unchanged', anchor: o.anchor },
                );
              });
            }
            this.afterWrite(write.summaries, write.createdKeys);
            return report;
          }
          await this.keys.reload();
        }
        throw new RecordError('busy', 'the record store kept changing under this import; try again');
      });
    } catch (e) {
      if (e instanceof DOMException) throw new RecordError('storage', `the database refused the import (${e.name}); nothing of it was stored`);
      throw e;
    } finally {
      // A journal that failed to start has already failed the import (awaited above) or never mattered.
      const journal = await journalling.catch(() => null);
      if (journal && committed) journal.done();
      else if (journal) await endImport(this.db, journal).catch(() => undefined);
    }
  }

  /** Stores a new version of one resource (identical content adds none); returns what to anchor. */
  async put<T extends fhir4.Resource>(resource: T): Promise<PutResult> {
    const [r] = await this.putAll([resource]);
    return r!;
  }

  /**
   * Stores resources all or nothing (e.g. a minute of heart-rate readings, or a consult's Encounter);
   * RecordError with the first rejection's reason if any is refused.
   */
  async putAll<T extends fhir4.Resource>(resources: readonly T[], opts: { onProgress?: ProgressFn } = {}): Promise<PutResult[]> {
    for (const r of resources as unknown[]) {
      if (!isObject(r) || !isValidResourceType(r.resourceType) || !isValidId(r.id)) throw new RecordError('malformed', 'a resource needs a valid resourceType and id');
    }
    const results: PutResult[] = [];
    const report = await this.importBundle({ resourceType: 'Bundle', type: 'transaction', entry: resources.map((resource) => ({ resource })) }, { ...opts, results });
    const first = report.rejected.find((r) => r.index >= 0);
    if (first !== undefined) throw new RecordError(reasonKind(first.reason), first.reason);
    return results;
  }

  private reportOf(items: readonly { entry: PreparedEntry; item: WriteItem }[], outcomes: readonly ItemOutcome[], rejected: Rejection[]): ImportReport {
    const imported: Record<string, number> = {};
    const anchors: Anchor[] = [];
    const patients = new Set<string>();
    let unchanged = 0;
    items.forEach(({ entry, item }, i) => {
      const o = outcomes[i]!;
      const type = entry.resource.resourceType;
      if (o.kind === 'rejected') return void rejected.push({ index: entry.index, resourceType: type, reason: o.reason });
      imported[type] = (imported[type] ?? 0) + 1;
      if (o.kind === 'unchanged') unchanged++;
      if (o.anchor !== null) anchors.push(o.anchor);
      if (item.patient !== null) patients.add(item.patient);
    });
    rejected.sort((a, b) => a.index - b.index);
    return { imported, rejected, unchanged, anchors, patients: [...patients] };
  }

  private afterWrite(summaries: ReadonlyMap<string, OwnerSummary>, createdKeys: ReadonlyMap<string, CryptoKey>): void {
    for (const [o, k] of createdKeys) this.keys.adopt(o, k);
    for (const [o, s] of summaries) this.#summaries.set(o, s);
    this.#channel.post('changed');
  }

  /**
   * Validation, reference resolution and attribution for prepared entries: each either becomes a write
   * item (owner, tags) or gets a plain-words reason. Rejections cascade: an entry that refers to a rejected
   * one is rejected too.
   */
  private async fileEntries(entries: readonly PreparedEntry[], onProgress: ProgressFn | undefined, alreadyRejected: number): Promise<Filed[]> {
    const total = entries.length + alreadyRejected;
    const reject = new Map<number, string>();
    if (this.validate && entries.length > 0) {
      const core = await loadFhirDefinitions();
      const step = Math.max(1, Math.floor(entries.length / 50));
      entries.forEach((e, i) => {
        const reasons = validateLoaded(core, e.resource);
        if (reasons !== null) reject.set(i, reasons.join('; '));
        if (onProgress && ((i + 1) % step === 0 || i + 1 === entries.length)) onProgress({ phase: 'validating', done: alreadyRejected + i + 1, total });
      });
    } else onProgress?.({ phase: 'validating', done: total, total });

    const scans = entries.map((e) => scanReferences(e.resource));
    const keyOf = (e: PreparedEntry): string => `${e.resource.resourceType}/${e.resource.id}`;
    const inBundle = new Map(entries.map((e, i) => [keyOf(e), i]));
    // What the store says about everything the bundle refers to but does not hold.
    const outside = new Set<string>();
    const logical = new Map<string, LogicalPatientRef>();
    const bundlePatients = new Map<string, string>();
    for (const e of entries) {
      if (e.resource.resourceType !== 'Patient') continue;
      for (const k of identifierKeysOf(e.resource)) bundlePatients.set(k, e.resource.id);
    }
    scans.forEach((s) => {
      for (const p of s.patients) if (!inBundle.has(`Patient/${p}`)) outside.add(`Patient/${p}`);
      for (const o of s.others) if (!inBundle.has(o.key)) outside.add(o.key);
      for (const l of s.logical) {
        const k = identifierKey('Patient', l.system, l.value);
        if (!bundlePatients.has(k)) logical.set(k, l);
      }
    });
    const stored = await this.ownersOfStored([...outside]);
    const storedLogical = new Map<string, string | undefined>();
    for (const [k, l] of logical) {
      const ref = await this.resolveIdentifier('Patient', l.system, l.value);
      storedLogical.set(k, ref?.startsWith('Patient/') ? ref.slice('Patient/'.length) : undefined);
    }
    const resolveLogical = (l: LogicalPatientRef): string | undefined => {
      const k = identifierKey('Patient', l.system, l.value);
      return bundlePatients.get(k) ?? storedLogical.get(k);
    };
    const erased = await this.erasedAmong(entries, scans, stored, resolveLogical);
    // An erased patient's record is refused as such (not as a reference to a patient no longer here).
    entries.forEach((e, i) => {
      if (reject.has(i)) return;
      const named = e.resource.resourceType === 'Patient' ? [e.resource.id] : [...scans[i]!.patients];
      if (named.some((p) => erased.has(p))) reject.set(i, 'the patient this entry belongs to was erased');
    });

    // To a fixpoint: references must resolve among the entries still in, attribution must succeed.
    for (let changed = true; changed;) {
      changed = false;
      const live = entries.map((_e, i) => i).filter((i) => !reject.has(i));
      const liveKeys = new Set(live.map((i) => keyOf(entries[i]!)));
      for (const i of live) {
        const missing = unresolvedReferences(entries[i]!.resource, (k) => liveKeys.has(k) || stored.has(k), { allowAbsolute: true });
        if (missing.length > 0) {
          reject.set(
            i,
            missing[0] === '#contained'
              ? 'a reference names a contained resource that is not there'
              : 'a reference names a resource that is neither in the bundle nor in this store',
          );
          changed = true;
        }
      }
      if (changed) continue;
      const attributions = attribute(
        live.map((i) => entries[i]!.resource),
        live.map((i) => scans[i]!),
        resolveLogical,
        (k) => stored.get(k),
      );
      attributions.forEach((a, j) => {
        const i = live[j]!;
        if ('reject' in a) {
          reject.set(i, a.reject);
          changed = true;
        } else if ('patient' in a && erased.has(a.patient)) {
          reject.set(i, 'the patient this entry belongs to was erased');
          changed = true;
        }
      });
      if (!changed) {
        return entries.map((entry, i): Filed => {
          const r = reject.get(i);
          if (r !== undefined) return { entry, reject: r };
          const a = attributions[live.indexOf(i)]!;
          const patient = 'patient' in a ? a.patient : null;
          const { resourceType, id } = entry.resource;
          return {
            entry,
            item: {
              resource: entry.resource,
              canonical: canonicalJson(entry.resource),
              owner: this.ownerTag(patient),
              patient,
              rowTag: this.rowTag(resourceType, id),
              identTags: identifierKeysOf(entry.resource).map((k) => this.identTag(k)),
              anchorId: this.anchorId(resourceType, id),
            },
          };
        });
      }
    }
    throw new Error('unreachable');
  }

  /** Which of the patients these entries could belong to were erased here. */
  private async erasedAmong(
    entries: readonly PreparedEntry[],
    scans: readonly ReturnType<typeof scanReferences>[],
    stored: ReadonlyMap<string, string>,
    resolveLogical: (l: LogicalPatientRef) => string | undefined,
  ): Promise<Set<string>> {
    const candidates = new Set<string>();
    entries.forEach((e, i) => {
      if (e.resource.resourceType === 'Patient') candidates.add(e.resource.id);
      for (const p of scans[i]!.patients) candidates.add(p);
      for (const l of scans[i]!.logical) {
        const p = resolveLogical(l);
        if (p !== undefined) candidates.add(p);
      }
    });
    for (const v of stored.values()) if (v !== SHARED) candidates.delete(v);
    const list = [...candidates];
    const tx = this.db.transaction('tombstones');
    const found = await Promise.all(list.map((p) => tx.store.getKey(this.tombstoneTag(p))));
    await tx.done;
    return new Set(list.filter((_p, i) => found[i] !== undefined));
  }

  /** For `Type/id` keys: the patient id each is filed under here ('shared' for shared), absent if not stored. */
  private async ownersOfStored(keys: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (keys.length === 0) return out;
    const tx = this.db.transaction('rows');
    const rows = await Promise.all(
      keys.map((k) => {
        const slash = k.indexOf('/');
        return tx.store.get(this.rowTag(k.slice(0, slash), k.slice(slash + 1))) as Promise<DataRow | undefined>;
      }),
    );
    await tx.done;
    const shared = this.ownerTag(null);
    for (let i = 0; i < keys.length; i++) {
      const row = rows[i];
      if (row === undefined) continue;
      if (row.o === shared) out.set(keys[i]!, SHARED);
      else {
        const s = await this.summaryOf(row.o);
        if (s?.id !== undefined) out.set(keys[i]!, s.id);
      }
    }
    return out;
  }

  private async resolveIdentifier(resourceType: string, system: string | undefined, value: string): Promise<string | undefined> {
    const tag = this.identTag(identifierKey(resourceType, system, value));
    const row = (await this.db.get('rows', tag)) as DataRow | undefined;
    if (row === undefined) return undefined;
    const p = decodeRowPayload(await open(await this.ownerKey(row.o), row.c, aad.row(tag)));
    return p.k === 'x' ? p.ref : undefined;
  }

  // ---- reading ------------------------------------------------------------------------------------------------

  private async ownerRow(owner: string): Promise<OwnerRow | undefined> {
    return (await this.db.get('owners', owner)) as OwnerRow | undefined;
  }

  private async ownerKey(owner: string): Promise<CryptoKey> {
    const cached = this.keys.cached(owner);
    if (cached !== undefined) return cached;
    const row = await this.ownerRow(owner);
    if (row === undefined) throw new RecordError('not-found', 'no such owner');
    return this.keys.dataKey(owner, row);
  }

  private async summaryOf(owner: string): Promise<OwnerSummary | undefined> {
    const hit = this.#summaries.get(owner);
    if (hit !== undefined) return hit;
    const row = await this.ownerRow(owner);
    if (row === undefined) return undefined;
    const s = decodeSummary(await open(await this.keys.dataKey(owner, row), row.c, aad.owner(owner)));
    this.#summaries.set(owner, s);
    return s;
  }

  private async payloadOf(resourceType: string, id: string): Promise<{ tag: string; row: DataRow; payload: ResourcePayload }> {
    const tag = this.rowTag(resourceType, id);
    const row = (await this.db.get('rows', tag)) as DataRow | undefined;
    if (row === undefined) {
      if (resourceType === 'Patient' && (await this.isErased(id))) throw new RecordError('erased', 'this patient was erased');
      throw new RecordError('not-found', `no ${resourceType} with that id`);
    }
    const p = decodeRowPayload(await open(await this.ownerKey(row.o), row.c, aad.row(tag)));
    if (p.k !== 'r' || p.t !== resourceType || p.i !== id) throw new RecordError('tampered', 'a stored row holds another record');
    return { tag, row, payload: p };
  }

  /** The latest version (or `version`) of a resource; RecordError 'not-found' | 'erased' | 'tampered'. */
  async read<T extends fhir4.Resource = fhir4.Resource>(resourceType: string, id: string, version?: number): Promise<T & { id: string }> {
    const { payload } = await this.payloadOf(resourceType, id);
    const h = version === undefined ? payload.h[payload.h.length - 1]! : payload.h.find((x) => x.v === version);
    if (h === undefined) throw new RecordError('not-found', 'no such version');
    return h.r as unknown as T & { id: string };
  }

  async latestVersion(resourceType: string, id: string): Promise<number> {
    const { payload } = await this.payloadOf(resourceType, id);
    return payload.h[payload.h.length - 1]!.v;
  }

  /** Resolves a 'Type/id' reference to the stored resource, or undefined. */
  async resolve(reference: string): Promise<fhir4.Resource | undefined> {
    const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(reference);
    if (m === null) return undefined;
    try {
      return await this.read(m[1]!, m[2]!);
    } catch (e) {
      if (e instanceof RecordError && (e.reason === 'not-found' || e.reason === 'erased')) return undefined;
      throw e;
    }
  }

  async isErased(patientId: string): Promise<boolean> {
    return (await this.db.getKey('tombstones', this.tombstoneTag(patientId))) !== undefined;
  }

  /** Every resource row of an owner, decrypted (identifier rows left out). */
  private async ownerPayloads(owner: string): Promise<ResourcePayload[]> {
    const tx = this.db.transaction('rows');
    const index = tx.store.index(OWNER_INDEX);
    const [keys, rows] = await Promise.all([index.getAllKeys(owner) as Promise<string[]>, index.getAll(owner) as Promise<DataRow[]>]);
    await tx.done;
    if (rows.length === 0) return [];
    const key = await this.ownerKey(owner);
    const out: ResourcePayload[] = [];
    const opened = await Promise.all(rows.map((r, i) => open(key, r.c, aad.row(keys[i]!))));
    // A patient's whole record can be thousands of resources: decoding them must not hold the page's thread.
    const slice = timeSlicer();
    for (const bytes of opened) {
      await slice();
      const p = decodeRowPayload(bytes);
      if (p.k === 'r') out.push(p);
    }
    return out;
  }

  /** A patient's resources (the Patient itself included), latest versions, optionally of some types. */
  async search(q: { patient: string; resourceType?: string | readonly string[] }): Promise<fhir4.Resource[]> {
    if (await this.isErased(q.patient)) throw new RecordError('erased', 'this patient was erased');
    const types = q.resourceType === undefined ? undefined : new Set(typeof q.resourceType === 'string' ? [q.resourceType] : q.resourceType);
    const out = (await this.ownerPayloads(this.ownerTag(q.patient))).filter((p) => types === undefined || types.has(p.t)).map((p) => p.h[p.h.length - 1]!.r as fhir4.Resource);
    out.sort((a, b) => (a.resourceType + '/' + a.id < b.resourceType + '/' + b.id ? -1 : 1));
    return out;
  }

  // ---- anchors ------------------------------------------------------------------------------------------------

  /** The anchor of the latest version (or `version`): H(salt ‖ canonical(resource)). */
  async anchor(resourceType: string, id: string, version?: number): Promise<RecordAnchor> {
    const { payload } = await this.payloadOf(resourceType, id);
    const h = version === undefined ? payload.h[payload.h.length - 1]! : payload.h.find((x) => x.v === version);
    if (h === undefined) throw new RecordError('not-found', 'no such version');
    return { resourceType, id, anchorId: this.anchorId(resourceType, id), version: h.v, commitment: versionCommitment(h) };
  }

  async commitment(resourceType: string, id: string, version?: number): Promise<Uint8Array> {
    return (await this.anchor(resourceType, id, version)).commitment;
  }

  /** The (anchorId, version, commitment) of the latest version of each resource, to anchor or re-anchor. */
  async anchorsOf(resources: readonly { resourceType: string; id: string }[]): Promise<Anchor[]> {
    const out: Anchor[] = [];
    for (const r of resources) {
      const a = await this.anchor(r.resourceType, r.id);
      out.push({ anchorId: a.anchorId, version: a.version, commitment: a.commitment });
    }
    return out;
  }

  /**
   * True iff the stored resource still matches the anchor (the latest version, unless the anchor names one).
   * Any change to the stored bytes fails decryption or the recomputed commitment: false, never a throw.
   */
  async verify(resourceType: string, id: string, anchor: Uint8Array | { version: number; commitment: Uint8Array }): Promise<boolean> {
    try {
      const a = anchor instanceof Uint8Array ? await this.anchor(resourceType, id) : await this.anchor(resourceType, id, anchor.version);
      return equalBytes(a.commitment, anchor instanceof Uint8Array ? anchor : anchor.commitment);
    } catch (e) {
      if (e instanceof RecordError || e instanceof SyntaxError) return false;
      throw e;
    }
  }

  // ---- patients -----------------------------------------------------------------------------------------------

  private async allSummaries(): Promise<Map<string, OwnerSummary>> {
    if (this.#allSummaries) return this.#summaries;
    const tx = this.db.transaction('owners');
    const [keys, rows] = await Promise.all([tx.store.getAllKeys() as Promise<string[]>, tx.store.getAll() as Promise<OwnerRow[]>]);
    await tx.done;
    const summaries = new Map<string, OwnerSummary>();
    await Promise.all(
      rows.map(async (row, i) => {
        const o = keys[i]!;
        const s = this.#summaries.get(o) ?? decodeSummary(await open(await this.keys.dataKey(o, row), row.c, aad.owner(o)));
        summaries.set(o, s);
      }),
    );
    this.#summaries = summaries;
    this.#allSummaries = true;
    return summaries;
  }

  /**
   * The patient list: every patient whose records are held here, matching `text` (a part of a name, a birth
   * date as YYYY, YYYY-MM or YYYY-MM-DD, or an identifier value), sorted by name, at most `limit` (100).
   */
  async patients(q: { text?: string; limit?: number } = {}): Promise<PatientListEntry[]> {
    const limit = q.limit ?? 100;
    const out = [...(await this.allSummaries()).values()].filter((s) => s.kind === 'patient' && matches(s, q.text ?? ''));
    return out.sort(byName).slice(0, limit).map(listEntry);
  }

  async patientSummary(patientId: string): Promise<PatientListEntry | undefined> {
    const s = await this.summaryOf(this.ownerTag(patientId));
    return s === undefined || s.kind !== 'patient' ? undefined : listEntry(s);
  }

  /** What the chart shows: demographics, conditions, medications, encounters and observations (by time). */
  async patientChart(patientId: string): Promise<PatientChartData> {
    const all = await this.search({ patient: patientId });
    const patient = all.find((r): r is fhir4.Patient & { id: string } => r.resourceType === 'Patient');
    if (patient === undefined) throw new RecordError('not-found', 'no such patient');
    const of = <T extends fhir4.Resource>(...types: string[]): T[] => all.filter((r) => types.includes(r.resourceType)) as T[];
    const counts: Record<string, number> = {};
    for (const r of all) counts[r.resourceType] = (counts[r.resourceType] ?? 0) + 1;
    return {
      patient,
      conditions: of<fhir4.Condition>('Condition').sort(byTime((c) => c.onsetDateTime ?? c.recordedDate)),
      medications: of<fhir4.MedicationRequest | fhir4.MedicationStatement>('MedicationRequest', 'MedicationStatement').sort(
        byTime((m) => ('authoredOn' in m ? m.authoredOn : undefined) ?? ('effectiveDateTime' in m ? m.effectiveDateTime : undefined)),
      ),
      encounters: of<fhir4.Encounter>('Encounter').sort(byTime((e) => e.period?.start)),
      observations: of<fhir4.Observation>('Observation').sort(byTime((o) => o.effectiveDateTime ?? o.effectivePeriod?.start ?? o.issued)),
      counts,
    };
  }

  // ---- erasure and keys ---------------------------------------------------------------------------------------

  /**
   * Erases a patient: every row filed under them (records with all versions, identifier rows, their
   * summary and wrapped data key) is deleted, a tombstone refuses their re-import, and the wrapping key is
   * replaced (every other data key rewrapped), all in one transaction. Other open stores drop their keys.
   */
  async erasePatient(patientId: string): Promise<void> {
    await this.exclusive(async () => {
      for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
        const owner = this.ownerTag(patientId);
        const done = await eraseOwner(this.db, this.keys, { owner, tombstone: this.tombstoneTag(patientId) });
        if (done) {
          this.#summaries.delete(owner);
          this.#channel.post('rotated');
          return;
        }
        await this.keys.reload();
      }
      throw new RecordError('busy', 'the record store kept changing during the erasure; try again');
    });
  }

  /**
   * Seals the keyring (and the import journal) under a new clinic key. After an erasure the node rekeys and
   * keeps only the new key in its vault, so a stale copy of the old rows needs a clinic key that no longer
   * exists outside the unlock-sealed vault history (README.md, "Erasure").
   */
  async rekey(newClinicKey: Uint8Array): Promise<void> {
    await this.exclusive(async () => {
      const kek = await deriveKek(newClinicKey);
      const row = (await this.db.get('meta', KEYRING_KEY)) as SealedRow;
      const secrets = await openKeyringSecrets(this.keys.keyEncryptionKey, row.c);
      const sealed = await sealKeyring(kek, secrets);
      secrets.index.fill(0);
      secrets.ledger.fill(0);
      secrets.wrap.fill(0);
      const journal = await resealJournal(this.db, this.keys.keyEncryptionKey, kek);
      const tx = this.db.transaction(['meta', 'journal'], 'readwrite', { durability: 'strict' });
      await Promise.all([
        tx.objectStore('meta').put({ c: sealed } satisfies SealedRow, KEYRING_KEY),
        ...journal.map((j) => tx.objectStore('journal').put(j.value, j.key)),
        tx.done,
      ]);
      this.keys.useKek(kek);
      this.#channel.post('rotated');
    });
  }

  // ---- release and received records ---------------------------------------------------------------------------

  /**
   * What the holder sends a permitted requester: the latest version of each of the patient's resources of
   * the granted types, each with its anchor id, version and salt, so the requester can recompute the
   * commitment and compare it with the holder's anchor on the ledger.
   */
  async releasePackage(patientId: string, resourceTypes: readonly string[]): Promise<ReleasedItem[]> {
    if (await this.isErased(patientId)) throw new RecordError('erased', 'this patient was erased');
    const types = new Set(resourceTypes);
    const out: ReleasedItem[] = [];
    for (const p of await this.ownerPayloads(this.ownerTag(patientId))) {
      if (!types.has(p.t)) continue;
      const h = p.h[p.h.length - 1]!;
      out.push({ anchorId: this.anchorId(p.t, p.i), version: h.v, salt: fromHex(h.s, 32), resource: h.r });
    }
    out.sort((a, b) => (a.anchorId < b.anchorId ? -1 : 1));
    return out;
  }

  /** Keeps records released to this clinic, encrypted, apart from its own (never in search or the chart). */
  async storeReceived(requestId: string, holder: string, resources: readonly fhir4.Resource[], opts: { patient?: string; receivedAt?: number } = {}): Promise<void> {
    await this.exclusive(() =>
      this.#received.store({ requestId, holder, patient: opts.patient ?? '', receivedAt: opts.receivedAt ?? Date.now(), resources: [...resources] }, (k) =>
        this.keys.keyring.index.tag(k),
      ),
    );
  }

  /** Records released to this clinic: those of one request, or all. */
  async received(requestId?: string): Promise<ReceivedRecords[]> {
    return this.#received.list(requestId, (k) => this.keys.keyring.index.tag(k));
  }
}

function listEntry(s: OwnerSummary): PatientListEntry {
  return { id: s.id!, name: s.name, birthDate: s.birthDate, gender: s.gender, identifiers: s.identifiers, counts: s.counts, erased: false, linkedDevices: 0 };
}

function byTime<T>(at: (x: T) => string | undefined): (a: T, b: T) => number {
  return (a, b) => {
    const ta = Date.parse(at(a) ?? '');
    const tb = Date.parse(at(b) ?? '');
    return (Number.isFinite(ta) ? ta : Infinity) - (Number.isFinite(tb) ? tb : Infinity);
  };
}

function wholeTransactionRejected(): Rejection {
  return { index: -1, resourceType: 'Bundle', reason: 'a transaction bundle is imported whole or not at all: nothing of it was imported' };
}

function reasonKind(reason: string): 'erased' | 'unresolved-reference' | 'malformed' {
  if (reason.includes('erased')) return 'erased';
  if (reason.includes('reference')) return 'unresolved-reference';
  return 'malformed';
}
