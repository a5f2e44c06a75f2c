/// <reference types="fhir" />
// The clinic's record store: FHIR R4 resources in IndexedDB (idb), encrypted at rest.
//
// Layout (every key and value opaque to whoever reads the database without the clinic key):
//   datakeys    owner tag  -> { wrapped } AES-KW-wrapped AES-GCM data key, or { erased: true } once shredded
//   records     record tag -> { owner, type, latest, content }  (tags: HMAC under the index key)
//   versions    record tag#n -> { iv, ct }  AES-GCM(data key, canonical {salt, resource}), AAD = the slot name
//   identifiers ident tag  -> { iv, ct }  the 'Type/id' a business identifier names, under the shared key
// An owner is a patient (their resources) or 'shared' (Organization, Practitioner, ...). Every version is
// kept; `latest` points at the newest. A version's commitment H(salt ‖ canonical(resource)) goes on the
// ledger as its anchor; the salt never leaves the clinic, so the anchor says nothing about the content.
import { openDB, type IDBPDatabase } from 'idb';
import { canonicalBytes, canonicalJson } from '../codec/index.ts';
import { equalBytes, fromHex, toHex } from '../util/index.ts';
import { RecordError } from './errors.ts';
import { deriveClinicKeys, newDataKey, open, seal, tag, unwrapDataKey, wrapDataKey, type ClinicKeys } from './keys.ts';
import { BundleError, identifierKey, isValidId, isValidResourceType, patientOf, prepareBundle, type Rejection } from './bundle.ts';

export interface ImportReport {
  imported: Record<string, number>;
  rejected: Rejection[];
  /** Entries already stored with identical content (re-imports): counted in `imported`, no new version. */
  unchanged: number;
}

export interface RecordAnchor {
  readonly resourceType: string;
  readonly id: string;
  readonly version: number;
  readonly commitment: Uint8Array;
}

interface DataKeyRow {
  wrapped?: Uint8Array;
  erased?: true;
}
interface RecordRow {
  owner: string;
  type: string;
  latest: number;
  content: string;
}
interface SealedRow {
  iv: Uint8Array;
  ct: Uint8Array;
}
interface Payload {
  salt: string;
  resource: fhir4.Resource & { id: string };
}

export const RECORDS_DB_VERSION = 1;
const SHARED_OWNER = 'shared';
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();


async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', data as BufferSource));
}

/** H(salt ‖ canonical JSON of the resource). */
export async function commitmentOf(salt: Uint8Array, resource: unknown): Promise<Uint8Array> {
  const body = canonicalBytes(resource);
  const buf = new Uint8Array(salt.length + body.length);
  buf.set(salt);
  buf.set(body, salt.length);
  return sha256(buf);
}


export class RecordStore {
  private readonly dataKeys = new Map<string, CryptoKey>();

  private constructor(
    readonly db: IDBPDatabase,
    private readonly keys: ClinicKeys,
  ) {}

  static async open(dbName: string, clinicKey: Uint8Array): Promise<RecordStore> {
    const keys = await deriveClinicKeys(clinicKey);
    const db = await openDB(dbName, RECORDS_DB_VERSION, {
      upgrade(d) {
        d.createObjectStore('datakeys');
        const records = d.createObjectStore('records');
        records.createIndex('owner', 'owner');
        records.createIndex('ownerType', ['owner', 'type']);
        d.createObjectStore('versions');
        d.createObjectStore('identifiers');
      },
    });
    return new RecordStore(db, keys);
  }

  close(): void {
    this.db.close();
  }

  /** A stable pseudonym for a patient (what the ledger may name): a keyed hash, unlinkable without the key. */
  async pseudonym(patientId: string): Promise<string> {
    return tag(this.keys, 'pseudonym|' + patientId);
  }

  /** The opaque name a resource's anchors carry on the ledger (64 hex characters, a keyed hash). */
  async anchorId(resourceType: string, id: string): Promise<string> {
    return tag(this.keys, `anchor|${resourceType}/${id}`);
  }

  private ownerTag(patientId: string | null): Promise<string> {
    return patientId === null ? tag(this.keys, SHARED_OWNER) : tag(this.keys, 'patient|' + patientId);
  }
  private recordTag(resourceType: string, id: string): Promise<string> {
    return tag(this.keys, `resource|${resourceType}/${id}`);
  }
  private typeTag(resourceType: string): Promise<string> {
    return tag(this.keys, 'type|' + resourceType);
  }

  /** The data key of an owner, creating (and returning the wrapped form to store) if it has none. */
  private async dataKeyFor(owner: string, row: DataKeyRow | undefined): Promise<{ key: CryptoKey; created?: Uint8Array }> {
    const cached = this.dataKeys.get(owner);
    if (cached !== undefined) return { key: cached };
    if (row?.erased) throw new RecordError('erased', 'this patient was erased');
    if (row?.wrapped !== undefined) {
      const key = await unwrapDataKey(this.keys, row.wrapped);
      this.dataKeys.set(owner, key);
      return { key };
    }
    const fresh = await newDataKey();
    const wrapped = await wrapDataKey(this.keys, fresh);
    const key = await unwrapDataKey(this.keys, wrapped); // the non-extractable form is the one kept
    this.dataKeys.set(owner, key);
    return { key, created: wrapped };
  }

  private async loadKey(owner: string): Promise<CryptoKey> {
    const cached = this.dataKeys.get(owner);
    if (cached !== undefined) return cached;
    const row = (await this.db.get('datakeys', owner)) as DataKeyRow | undefined;
    if (row === undefined || row.erased) throw new RecordError('erased', 'no data key: the patient was erased');
    return (await this.dataKeyFor(owner, row)).key;
  }

  private async resolveIdentifier(resourceType: string, system: string | undefined, value: string): Promise<string | undefined> {
    const k = await tag(this.keys, 'ident|' + identifierKey(resourceType, system, value));
    const row = (await this.db.get('identifiers', k)) as SealedRow | undefined;
    if (row === undefined) return undefined;
    const key = await this.loadKey(await this.ownerTag(null));
    return fromUtf8.decode(await open(key, row.iv, row.ct, utf8.encode('ident|' + k)));
  }

  async importBundle(bundle: unknown): Promise<ImportReport> {
    let prepared;
    try {
      prepared = await prepareBundle(bundle, (t, s, v) => this.resolveIdentifier(t, s, v));
    } catch (e) {
      if (e instanceof BundleError) throw new RecordError('malformed', e.message);
      throw e;
    }
    const report: ImportReport = { imported: {}, rejected: [...prepared.rejected], unchanged: 0 };
    const outcome = await this.writeResources(prepared.entries.map((e) => e.resource));
    prepared.entries.forEach((e, i) => {
      const o = outcome[i]!;
      if (o === 'erased') report.rejected.push({ index: e.index, reason: 'the patient this entry belongs to was erased' });
      else {
        report.imported[e.resource.resourceType] = (report.imported[e.resource.resourceType] ?? 0) + 1;
        if (o === 'unchanged') report.unchanged++;
      }
    });
    report.rejected.sort((a, b) => a.index - b.index);
    return report;
  }

  /** Stores a new version of `resource` (identical content adds none). */
  async put(resource: fhir4.Resource): Promise<{ version: number; changed: boolean }> {
    const r = resource as fhir4.Resource & { id?: unknown };
    if (typeof r !== 'object' || r === null || !isValidResourceType(r.resourceType) || !isValidId(r.id)) {
      throw new RecordError('malformed', 'a resource needs a valid resourceType and id');
    }
    const [o] = await this.writeResources([structuredClone(r) as fhir4.Resource & { id: string }]);
    if (o === 'erased') throw new RecordError('erased', 'this patient was erased');
    const meta = (await this.db.get('records', await this.recordTag(r.resourceType, r.id))) as RecordRow;
    return { version: meta.latest, changed: o === 'new' };
  }

  /**
   * Encrypts and writes resources in one IndexedDB transaction. WebCrypto is asynchronous and an
   * IndexedDB transaction commits when it waits on anything else, so all crypto happens between a read
   * transaction and the write transaction.
   */
  private async writeResources(resources: (fhir4.Resource & { id: string })[]): Promise<('new' | 'unchanged' | 'erased')[]> {
    const plans = await Promise.all(
      resources.map(async (resource) => {
        const canonical = canonicalJson(resource);
        const patient = patientOf(resource);
        return {
          resource,
          canonical,
          owner: await this.ownerTag(patient),
          rkey: await this.recordTag(resource.resourceType, resource.id),
          type: await this.typeTag(resource.resourceType),
          content: await tag(this.keys, 'content|' + canonical),
          idents: await this.identifierTags(resource),
        };
      }),
    );
    const shared = await this.ownerTag(null);
    const owners = [...new Set([...plans.map((p) => p.owner), shared])];
    const rkeys = [...new Set(plans.map((p) => p.rkey))];
    const rtx = this.db.transaction(['datakeys', 'records'], 'readonly');
    const keyRows = await Promise.all(owners.map((o) => rtx.objectStore('datakeys').get(o) as Promise<DataKeyRow | undefined>));
    const metaRows = await Promise.all(rkeys.map((k) => rtx.objectStore('records').get(k) as Promise<RecordRow | undefined>));
    await rtx.done;

    const newWrapped = new Map<string, Uint8Array>();
    const keyOf = new Map<string, CryptoKey | 'erased'>();
    for (let i = 0; i < owners.length; i++) {
      const row = keyRows[i];
      try {
        const { key, created } = await this.dataKeyFor(owners[i]!, row);
        keyOf.set(owners[i]!, key);
        if (created !== undefined) newWrapped.set(owners[i]!, created);
      } catch (e) {
        if (e instanceof RecordError && e.reason === 'erased') keyOf.set(owners[i]!, 'erased');
        else throw e;
      }
    }
    const metas = new Map<string, RecordRow | undefined>(rkeys.map((k, i) => [k, metaRows[i]]));
    const versionWrites: [string, SealedRow][] = [];
    const identWrites: [string, SealedRow][] = [];
    const outcome: ('new' | 'unchanged' | 'erased')[] = [];
    const sharedKey = keyOf.get(shared);
    for (const p of plans) {
      const key = keyOf.get(p.owner)!;
      if (key === 'erased') {
        outcome.push('erased');
        continue;
      }
      const meta = metas.get(p.rkey);
      if (meta !== undefined && meta.content === p.content) {
        outcome.push('unchanged');
        continue;
      }
      const version = (meta?.latest ?? 0) + 1;
      const slot = `${p.rkey}#${version}`;
      const salt = globalThis.crypto.getRandomValues(new Uint8Array(32));
      const payload = `{"resource":${p.canonical},"salt":"${toHex(salt)}"}`;
      versionWrites.push([slot, await seal(key, utf8.encode(payload), utf8.encode(slot))]);
      metas.set(p.rkey, { owner: p.owner, type: p.type, latest: version, content: p.content });
      if (sharedKey !== undefined && sharedKey !== 'erased') {
        for (const k of p.idents) identWrites.push([k, await seal(sharedKey, utf8.encode(`${p.resource.resourceType}/${p.resource.id}`), utf8.encode('ident|' + k))]);
      }
      outcome.push('new');
    }

    const wtx = this.db.transaction(['datakeys', 'records', 'versions', 'identifiers'], 'readwrite');
    const writes: Promise<unknown>[] = [];
    for (const [o, wrapped] of newWrapped) writes.push(wtx.objectStore('datakeys').put({ wrapped } satisfies DataKeyRow, o));
    for (const [k, m] of metas) if (m !== undefined) writes.push(wtx.objectStore('records').put(m, k));
    for (const [k, v] of versionWrites) writes.push(wtx.objectStore('versions').put(v, k));
    for (const [k, v] of identWrites) writes.push(wtx.objectStore('identifiers').put(v, k));
    await Promise.all(writes);
    await wtx.done;
    return outcome;
  }

  private async identifierTags(resource: fhir4.Resource): Promise<string[]> {
    const idents = (resource as { identifier?: unknown }).identifier;
    if (!Array.isArray(idents)) return [];
    const out: string[] = [];
    for (const i of idents as fhir4.Identifier[]) {
      if (typeof i?.value === 'string') out.push(await tag(this.keys, 'ident|' + identifierKey(resource.resourceType, i.system, i.value)));
    }
    return out;
  }

  private async readVersion(rkey: string, meta: RecordRow, version: number): Promise<Payload> {
    const row = (await this.db.get('versions', `${rkey}#${version}`)) as SealedRow | undefined;
    if (row === undefined) throw new RecordError('not-found', 'no such version');
    const key = await this.loadKey(meta.owner);
    const plain = await open(key, row.iv, row.ct, utf8.encode(`${rkey}#${version}`));
    try {
      return JSON.parse(fromUtf8.decode(plain)) as Payload;
    } catch {
      throw new RecordError('tampered', 'a stored record does not parse');
    }
  }

  private async meta(resourceType: string, id: string): Promise<{ rkey: string; meta: RecordRow }> {
    const rkey = await this.recordTag(resourceType, id);
    const meta = (await this.db.get('records', rkey)) as RecordRow | undefined;
    if (meta === undefined) throw new RecordError('not-found', `no ${resourceType} with that id`);
    return { rkey, meta };
  }

  /** The latest version (or `version`) of a resource; RecordError 'not-found' | 'erased' | 'tampered'. */
  async read<T extends fhir4.Resource = fhir4.Resource>(resourceType: string, id: string, version?: number): Promise<T & { id: string }> {
    const { rkey, meta } = await this.meta(resourceType, id);
    const payload = await this.readVersion(rkey, meta, version ?? meta.latest);
    return payload.resource as unknown as T & { id: string };
  }

  async latestVersion(resourceType: string, id: string): Promise<number> {
    return (await this.meta(resourceType, id)).meta.latest;
  }

  /** Resolves a 'Type/id' reference to the stored resource, or undefined. */
  async resolve(reference: string): Promise<fhir4.Resource | undefined> {
    const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(reference);
    if (m === null) return undefined;
    try {
      return await this.read(m[1]!, m[2]!);
    } catch (e) {
      if (e instanceof RecordError && e.reason === 'not-found') return undefined;
      throw e;
    }
  }

  /** A patient's resources (the Patient itself included), latest versions, optionally of one type. */
  async search(q: { patient: string; resourceType?: string }): Promise<fhir4.Resource[]> {
    const owner = await this.ownerTag(q.patient);
    const typeTag = q.resourceType === undefined ? undefined : await this.typeTag(q.resourceType);
    const idx = this.db.transaction('records').store;
    const keys =
      typeTag === undefined ? await idx.index('owner').getAllKeys(owner) : await idx.index('ownerType').getAllKeys([owner, typeTag]);
    const out: fhir4.Resource[] = [];
    for (const k of keys) {
      const rkey = k as string;
      const meta = (await this.db.get('records', rkey)) as RecordRow;
      out.push((await this.readVersion(rkey, meta, meta.latest)).resource);
    }
    out.sort((a, b) => (a.resourceType + '/' + a.id < b.resourceType + '/' + b.id ? -1 : 1));
    return out;
  }

  /** The anchor of the latest version (or `version`): H(salt ‖ canonical(resource)). */
  async commitment(resourceType: string, id: string, version?: number): Promise<Uint8Array> {
    return (await this.anchor(resourceType, id, version)).commitment;
  }

  async anchor(resourceType: string, id: string, version?: number): Promise<RecordAnchor> {
    const { rkey, meta } = await this.meta(resourceType, id);
    const v = version ?? meta.latest;
    const p = await this.readVersion(rkey, meta, v);
    return { resourceType, id, version: v, commitment: await commitmentOf(fromHex(p.salt), p.resource) };
  }

  /**
   * True iff the stored resource still matches the anchor (the latest version, unless the anchor names one).
   * Any change to the stored bytes fails decryption or the recomputed commitment: false, never a throw.
   */
  async verify(resourceType: string, id: string, anchor: Uint8Array | { version: number; commitment: Uint8Array }): Promise<boolean> {
    try {
      const a = anchor instanceof Uint8Array ? await this.anchor(resourceType, id) : await this.anchor(resourceType, id, anchor.version);
      const expected = anchor instanceof Uint8Array ? anchor : anchor.commitment;
      return equalBytes(a.commitment, expected);
    } catch (e) {
      if (e instanceof RecordError || e instanceof SyntaxError) return false;
      throw e;
    }
  }

  /** Crypto-shredding: destroys the patient's wrapped data key; their ciphertext stays and is unreadable. */
  async erasePatient(patientId: string): Promise<void> {
    const owner = await this.ownerTag(patientId);
    await this.db.put('datakeys', { erased: true } satisfies DataKeyRow, owner);
    this.dataKeys.delete(owner);
  }
}
