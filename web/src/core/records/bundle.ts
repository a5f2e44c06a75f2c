/// <reference types="fhir" />
// Turns a FHIR R4 batch, transaction or collection Bundle into resources ready to validate and store:
// every entry checked on its own (a bad one gets a reason, by index), references to an entry's `fullUrl`
// (`urn:uuid:…` or an absolute URL) rewritten to `Type/id`, conditional references
// (`Practitioner?identifier=system|value`) resolved against the bundle and the store, or, when nothing
// matches, kept as logical references (Reference.identifier). Whether one bad entry sinks the others is
// the store's decision (a transaction is all or nothing, a batch is not).
// Reasons are plain words about the structure, never a value from the resource.

export interface PreparedEntry {
  readonly index: number;
  readonly resource: fhir4.Resource & { id: string };
}

export interface Rejection {
  /** Position of the entry in the bundle, or -1 for the whole bundle. */
  readonly index: number;
  /** The entry's resourceType when it has a valid one, else ''. */
  readonly resourceType: string;
  readonly reason: string;
}

/** Looks up a resource already in the store by business identifier; returns 'Type/id' or undefined. */
export type ConditionalResolver = (resourceType: string, system: string | undefined, value: string) => Promise<string | undefined>;

const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const URN_UUID = /^urn:uuid:([0-9a-fA-F-]{36})$/;
const CONDITIONAL = /^([A-Z][A-Za-z]{1,63})\?identifier=(.+)$/;
/** `Type/id`, optionally after a base URL and optionally followed by `/_history/n`. */
const LITERAL = /^(?:(?:https?|urn):[^?#]*\/)?([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const MAX_BUNDLE_ENTRIES = 100_000;

export class BundleError extends Error {
  override readonly name = 'BundleError';
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID.test(id);
}
export function isValidResourceType(t: unknown): t is string {
  return typeof t === 'string' && RESOURCE_TYPE.test(t) && t !== 'Bundle';
}

/** The `{ type, id }` a literal reference names (relative, absolute, or versioned), or null. */
export function parseLiteral(reference: string): { type: string; id: string; absolute: boolean } | null {
  const m = LITERAL.exec(reference);
  if (m === null) return null;
  return { type: m[1]!, id: m[2]!, absolute: reference.includes(':') };
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

/** Every business identifier of a resource, as identifierKey strings. */
export function identifierKeysOf(resource: fhir4.Resource): string[] {
  const idents = (resource as { identifier?: unknown }).identifier;
  if (!Array.isArray(idents)) return [];
  const out: string[] = [];
  for (const i of idents)
    if (isObject(i) && typeof i.value === 'string') out.push(identifierKey(resource.resourceType, typeof i.system === 'string' ? i.system : undefined, i.value));
  return out;
}

const BUNDLE_TYPES = ['batch', 'transaction', 'collection'] as const;
export type ImportableBundleType = (typeof BUNDLE_TYPES)[number];

/** Checks the bundle's envelope; throws BundleError with a plain reason. */
export function bundleShape(bundle: unknown): { type: ImportableBundleType; entries: unknown[] } {
  if (!isObject(bundle) || bundle.resourceType !== 'Bundle') throw new BundleError('not a FHIR Bundle');
  if (!(BUNDLE_TYPES as readonly unknown[]).includes(bundle.type)) throw new BundleError('only batch, transaction and collection bundles import');
  const raw = bundle.entry ?? [];
  if (!Array.isArray(raw)) throw new BundleError('Bundle.entry is not an array');
  if (raw.length > MAX_BUNDLE_ENTRIES) throw new BundleError(`a bundle holds at most ${MAX_BUNDLE_ENTRIES} entries`);
  return { type: bundle.type as ImportableBundleType, entries: raw };
}

export async function prepareBundle(bundle: unknown, resolveStored: ConditionalResolver): Promise<{ type: ImportableBundleType; entries: PreparedEntry[]; rejected: Rejection[] }> {
  const { type, entries: raw } = bundleShape(bundle);
  const rejected: Rejection[] = [];
  const candidates: { index: number; resource: Record<string, unknown>; type: string; id: string }[] = [];
  const byFullUrl = new Map<string, string>();
  const byIdentifier = new Map<string, string>();
  const seen = new Set<string>();

  raw.forEach((entry: unknown, index: number) => {
    const reject = (reason: string, resourceType = ''): void => void rejected.push({ index, resourceType, reason });
    if (!isObject(entry)) return reject('entry is not an object');
    const resource = entry.resource;
    if (!isObject(resource)) return reject('entry has no resource');
    const rtype = resource.resourceType;
    if (!isValidResourceType(rtype)) return reject('resource has no valid resourceType');
    const fullUrl = typeof entry.fullUrl === 'string' ? entry.fullUrl : undefined;
    const request = isObject(entry.request) ? entry.request : undefined;
    if (request !== undefined && request.method !== 'POST' && request.method !== 'PUT') return reject('only POST and PUT entries import', rtype);
    let id: unknown = resource.id;
    if (id === undefined && request?.method === 'PUT' && typeof request.url === 'string') id = parseLiteral(request.url)?.id;
    if (id === undefined && fullUrl !== undefined) id = URN_UUID.exec(fullUrl)?.[1] ?? parseLiteral(fullUrl)?.id;
    if (!isValidId(id)) return reject('resource has no valid id', rtype);
    const key = `${rtype}/${id}`;
    if (seen.has(key)) return reject('the bundle holds this resource twice', rtype);
    seen.add(key);
    if (fullUrl !== undefined) byFullUrl.set(fullUrl, key);
    const idents = resource.identifier;
    if (Array.isArray(idents)) {
      for (const ident of idents) {
        if (isObject(ident) && typeof ident.value === 'string') {
          byIdentifier.set(identifierKey(rtype, typeof ident.system === 'string' ? ident.system : undefined, ident.value), key);
        }
      }
    }
    candidates.push({ index, resource, type: rtype, id });
  });

  // Conditional references the bundle cannot answer are looked up in the store first (once each), so the
  // rewrite itself is synchronous.
  const stored = new Map<string, string | undefined>();
  for (const c of candidates) collectConditionals(c.resource, byIdentifier, stored);
  for (const q of stored.keys()) {
    const { type: t, system, value } = parseConditional(q) as { type: string; system: string | undefined; value: string };
    stored.set(q, await resolveStored(t, system, value));
  }
  const entries: PreparedEntry[] = [];
  for (const c of candidates) {
    const copy = structuredClone(c.resource);
    copy.id = c.id;
    const problem = rewriteReferences(copy, byFullUrl, (q) => byIdentifierOf(q, byIdentifier) ?? stored.get(q));
    if (problem !== null) {
      rejected.push({ index: c.index, resourceType: c.type, reason: problem });
      continue;
    }
    entries.push({ index: c.index, resource: copy as unknown as fhir4.Resource & { id: string } });
  }
  rejected.sort((a, b) => a.index - b.index);
  return { type, entries, rejected };
}

function parseConditional(ref: string): { type: string; system: string | undefined; value: string } | null | 'multiple' {
  const m = CONDITIONAL.exec(ref);
  if (m === null) return null;
  if (m[2]!.includes('&')) return 'multiple';
  return { type: m[1]!, ...parseToken(m[2]!) };
}

function byIdentifierOf(ref: string, byIdentifier: ReadonlyMap<string, string>): string | undefined {
  const c = parseConditional(ref);
  if (c === null || c === 'multiple') return undefined;
  return byIdentifier.get(identifierKey(c.type, c.system, c.value));
}

function collectConditionals(node: unknown, byIdentifier: ReadonlyMap<string, string>, out: Map<string, string | undefined>): void {
  if (Array.isArray(node)) {
    for (const x of node) collectConditionals(x, byIdentifier, out);
    return;
  }
  if (!isObject(node)) return;
  const ref = node.reference;
  if (typeof ref === 'string') {
    const c = parseConditional(ref);
    if (c !== null && c !== 'multiple' && byIdentifierOf(ref, byIdentifier) === undefined) out.set(ref, undefined);
  }
  for (const v of Object.values(node)) if (typeof v === 'object' && v !== null) collectConditionals(v, byIdentifier, out);
}

/** Rewrites references in place; returns a rejection reason or null. `conditional` answers `Type?identifier=…`. */
function rewriteReferences(node: unknown, byFullUrl: ReadonlyMap<string, string>, conditional: (ref: string) => string | undefined): string | null {
  if (Array.isArray(node)) {
    for (const x of node) {
      const p = rewriteReferences(x, byFullUrl, conditional);
      if (p !== null) return p;
    }
    return null;
  }
  if (!isObject(node)) return null;
  const ref = node.reference;
  if (typeof ref === 'string') {
    const target = byFullUrl.get(ref);
    if (target !== undefined) node.reference = target;
    else if (ref.startsWith('urn:uuid:') || ref.startsWith('urn:oid:')) return 'a urn reference names no entry of the bundle';
    else {
      const c = parseConditional(ref);
      if (c === 'multiple') return 'a conditional reference with more than one search parameter';
      if (c !== null) {
        const found = conditional(ref);
        if (found !== undefined) node.reference = found;
        else {
          // No such resource here: keep the business identifier as a logical reference.
          delete node.reference;
          node.type = c.type;
          node.identifier = c.system === undefined ? { value: c.value } : { system: c.system, value: c.value };
        }
      } else if (ref.includes('?')) return 'a conditional reference we cannot resolve';
    }
  }
  for (const [k, v] of Object.entries(node)) {
    if (k === 'reference') continue;
    if (typeof v === 'object' && v !== null) {
      const p = rewriteReferences(v, byFullUrl, conditional);
      if (p !== null) return p;
    }
  }
  return null;
}
