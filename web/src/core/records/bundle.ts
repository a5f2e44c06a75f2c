/// <reference types="fhir" />
// Turns a FHIR R4 batch or transaction Bundle into resources ready to store: every entry checked on its
// own (a bad one is rejected with a reason, the rest go on), `urn:uuid:` references rewritten to
// `Type/id`, conditional references (`Practitioner?identifier=system|value`) resolved against the bundle
// and the store, or, when nothing matches, kept as logical references (Reference.identifier).
// Entries are independent even in a `transaction` bundle: a clinic importing an export wants every good
// record, and a rejected entry is reported by index.

export interface PreparedEntry {
  readonly index: number;
  readonly resource: fhir4.Resource & { id: string };
}

export interface Rejection {
  readonly index: number;
  readonly reason: string;
}

/** Looks up a resource already in the store by business identifier; returns 'Type/id' or undefined. */
export type ConditionalResolver = (resourceType: string, system: string | undefined, value: string) => Promise<string | undefined>;

const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const URN_UUID = /^urn:uuid:([0-9a-fA-F-]{36})$/;
const CONDITIONAL = /^([A-Z][A-Za-z]{1,63})\?identifier=(.+)$/;
export const MAX_BUNDLE_ENTRIES = 100_000;

export class BundleError extends Error {
  override readonly name = 'BundleError';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID.test(id);
}
export function isValidResourceType(t: unknown): t is string {
  return typeof t === 'string' && RESOURCE_TYPE.test(t) && t !== 'Bundle';
}

/** Splits `system|value` (either side may be empty); percent-decoded. */
function parseToken(token: string): { system: string | undefined; value: string } {
  const bar = token.indexOf('|');
  const dec = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  if (bar < 0) return { system: undefined, value: dec(token) };
  return { system: dec(token.slice(0, bar)) || undefined, value: dec(token.slice(bar + 1)) };
}

export function identifierKey(resourceType: string, system: string | undefined, value: string): string {
  return `${resourceType}|${system ?? ''}|${value}`;
}

export async function prepareBundle(bundle: unknown, resolveStored: ConditionalResolver): Promise<{ entries: PreparedEntry[]; rejected: Rejection[] }> {
  if (!isObject(bundle) || bundle.resourceType !== 'Bundle') throw new BundleError('not a FHIR Bundle');
  if (bundle.type !== 'batch' && bundle.type !== 'transaction' && bundle.type !== 'collection') {
    throw new BundleError('only batch, transaction and collection bundles import');
  }
  const raw = bundle.entry ?? [];
  if (!Array.isArray(raw)) throw new BundleError('Bundle.entry is not an array');
  if (raw.length > MAX_BUNDLE_ENTRIES) throw new BundleError('too many entries');

  const rejected: Rejection[] = [];
  const candidates: { index: number; resource: Record<string, unknown>; type: string; id: string }[] = [];
  const byFullUrl = new Map<string, string>();
  const byIdentifier = new Map<string, string>();

  raw.forEach((entry: unknown, index: number) => {
    if (!isObject(entry)) return void rejected.push({ index, reason: 'entry is not an object' });
    const resource = entry.resource;
    if (!isObject(resource)) return void rejected.push({ index, reason: 'entry has no resource' });
    const type = resource.resourceType;
    if (!isValidResourceType(type)) return void rejected.push({ index, reason: 'resource has no valid resourceType' });
    const fullUrl = typeof entry.fullUrl === 'string' ? entry.fullUrl : undefined;
    const request = isObject(entry.request) ? entry.request : undefined;
    if (request !== undefined && request.method !== 'POST' && request.method !== 'PUT') {
      return void rejected.push({ index, reason: 'only POST and PUT entries import' });
    }
    let id: unknown = resource.id;
    if (id === undefined && request?.method === 'PUT' && typeof request.url === 'string') id = request.url.split('/')[1];
    if (id === undefined && fullUrl !== undefined) id = URN_UUID.exec(fullUrl)?.[1];
    if (!isValidId(id)) return void rejected.push({ index, reason: 'resource has no valid id' });
    if (fullUrl !== undefined) byFullUrl.set(fullUrl, `${type}/${id}`);
    const idents = resource.identifier;
    if (Array.isArray(idents)) {
      for (const ident of idents) {
        if (isObject(ident) && typeof ident.value === 'string') {
          byIdentifier.set(identifierKey(type, typeof ident.system === 'string' ? ident.system : undefined, ident.value), `${type}/${id}`);
        }
      }
    }
    candidates.push({ index, resource, type, id });
  });

  const entries: PreparedEntry[] = [];
  for (const c of candidates) {
    const copy = structuredClone(c.resource);
    copy.id = c.id;
    const problem = await rewriteReferences(copy, byFullUrl, byIdentifier, resolveStored);
    if (problem !== null) {
      rejected.push({ index: c.index, reason: problem });
      continue;
    }
    entries.push({ index: c.index, resource: copy as unknown as fhir4.Resource & { id: string } });
  }
  rejected.sort((a, b) => a.index - b.index);
  return { entries, rejected };
}

/** Rewrites references in place; returns a rejection reason or null. */
async function rewriteReferences(
  node: unknown,
  byFullUrl: ReadonlyMap<string, string>,
  byIdentifier: ReadonlyMap<string, string>,
  resolveStored: ConditionalResolver,
): Promise<string | null> {
  if (Array.isArray(node)) {
    for (const x of node) {
      const p = await rewriteReferences(x, byFullUrl, byIdentifier, resolveStored);
      if (p !== null) return p;
    }
    return null;
  }
  if (!isObject(node)) return null;
  const ref = node.reference;
  if (typeof ref === 'string') {
    if (ref.startsWith('urn:uuid:')) {
      const target = byFullUrl.get(ref);
      if (target === undefined) return 'a urn:uuid reference names no entry of the bundle';
      node.reference = target;
    } else {
      const m = CONDITIONAL.exec(ref);
      if (m !== null) {
        const type = m[1]!;
        const q = m[2]!;
        if (q.includes('&')) return 'a conditional reference with more than one search parameter';
        const { system, value } = parseToken(q);
        const target = byIdentifier.get(identifierKey(type, system, value)) ?? (await resolveStored(type, system, value));
        if (target !== undefined) node.reference = target;
        else {
          // No such resource here: keep the business identifier as a logical reference.
          delete node.reference;
          node.type = type;
          node.identifier = system === undefined ? { value } : { system, value };
        }
      } else if (ref.includes('?')) return 'a conditional reference we cannot resolve';
    }
  }
  for (const [k, v] of Object.entries(node)) {
    if (k === 'reference') continue;
    if (typeof v === 'object' && v !== null) {
      const p = await rewriteReferences(v, byFullUrl, byIdentifier, resolveStored);
      if (p !== null) return p;
    }
  }
  return null;
}

const PATIENT_FIELDS = ['subject', 'patient', 'beneficiary'] as const;

/** The patient a resource belongs to, or null for shared resources (Organization, Practitioner, ...). */
export function patientOf(resource: fhir4.Resource & { id: string }): string | null {
  if (resource.resourceType === 'Patient') return resource.id;
  const r = resource as unknown as Record<string, unknown>;
  for (const f of PATIENT_FIELDS) {
    const v = r[f];
    if (isObject(v) && typeof v.reference === 'string' && v.reference.startsWith('Patient/')) return v.reference.slice('Patient/'.length);
  }
  return null;
}
