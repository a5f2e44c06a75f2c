/// <reference types="fhir" />
// The sealed payloads of the store's rows, their associated data, and the commitment that anchors a version.
// A resource row holds every version of one resource in one blob (padded), so the number of versions is not
// countable from outside; a version's commitment H(salt ‖ canonical(resource)) is what the ledger anchors.
import { canonicalBytes, canonicalJson } from '../codec/index.ts';
import { RecordError } from './errors.ts';
import { decodeUtf8, sha256Bytes } from './keys.ts';
import { isObject, isValidId, isValidResourceType } from './bundle.ts';
import { paddedJson } from './padding.ts';
import { fromHex, toHex } from '../util/index.ts';
import type { OwnerSummary } from './summary.ts';

const utf8 = new TextEncoder();

export interface StoredVersion {
  readonly v: number;
  /** 32-byte salt, hex. */
  readonly s: string;
  readonly r: fhir4.Resource & { id: string };
}

export interface ResourcePayload {
  readonly k: 'r';
  readonly t: string;
  readonly i: string;
  readonly h: StoredVersion[];
}

export interface IdentifierPayload {
  readonly k: 'x';
  /** 'Type/id' of the resource the identifier names. */
  readonly ref: string;
}

export type RowPayload = ResourcePayload | IdentifierPayload;

export const aad = {
  row: (tag: string): Uint8Array => utf8.encode('hygeia/records/v2/rows|' + tag),
  owner: (tag: string): Uint8Array => utf8.encode('hygeia/records/v2/owners|' + tag),
  received: (tag: string): Uint8Array => utf8.encode('hygeia/records/v2/received|' + tag),
  journal: (id: string): Uint8Array => utf8.encode('hygeia/records/v2/journal|' + id),
};

/** H(salt ‖ canonical JSON of the resource): the anchor of one version. */
export function commitmentOf(salt: Uint8Array, resource: unknown): Uint8Array {
  const body = canonicalBytes(resource);
  const buf = new Uint8Array(salt.length + body.length);
  buf.set(salt);
  buf.set(body, salt.length);
  return sha256Bytes(buf);
}

/** The same commitment from a hex salt and the resource's canonical JSON (no re-encoding). */
export function commitmentOfCanonical(saltHex: string, canonical: string): Uint8Array {
  const salt = fromHex(saltHex, 32);
  const body = utf8.encode(canonical);
  const buf = new Uint8Array(32 + body.length);
  buf.set(salt);
  buf.set(body, 32);
  return sha256Bytes(buf);
}

/** Padded bytes of a resource row: canonical JSON of every version, written without re-encoding `latest`. */
export function encodeResourcePayload(type: string, id: string, history: readonly StoredVersion[], latestCanonical?: string): Uint8Array {
  const versions = history.map((h, i) => (i === history.length - 1 && latestCanonical !== undefined ? `{"r":${latestCanonical},"s":"${h.s}","v":${h.v}}` : canonicalJson(h)));
  return paddedJson(`{"h":[${versions.join(',')}],"i":${JSON.stringify(id)},"k":"r","t":${JSON.stringify(type)}}`);
}

export function encodeJson(value: unknown): Uint8Array {
  return paddedJson(JSON.stringify(value));
}

function parse(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decodeUtf8(bytes));
  } catch (e) {
    if (e instanceof RecordError) throw e;
    throw new RecordError('tampered', 'a stored record does not parse');
  }
}

export function decodeRowPayload(bytes: Uint8Array): RowPayload {
  const p = parse(bytes);
  if (isObject(p) && p.k === 'x' && typeof p.ref === 'string') return { k: 'x', ref: p.ref };
  if (isObject(p) && p.k === 'r' && isValidResourceType(p.t) && isValidId(p.i) && Array.isArray(p.h) && p.h.length > 0) {
    let last = 0;
    for (const h of p.h) {
      if (!isObject(h) || !Number.isSafeInteger(h.v) || (h.v as number) <= last || typeof h.s !== 'string' || h.s.length !== 64 || !isObject(h.r)) {
        throw new RecordError('tampered', 'a stored record has a malformed history');
      }
      if (h.r.resourceType !== p.t || h.r.id !== p.i) throw new RecordError('tampered', 'a stored version does not match its record');
      last = h.v as number;
    }
    return p as unknown as ResourcePayload;
  }
  throw new RecordError('tampered', 'a stored row has an unknown shape');
}

export function decodeSummary(bytes: Uint8Array): OwnerSummary {
  const p = parse(bytes);
  if (!isObject(p) || (p.kind !== 'patient' && p.kind !== 'shared') || !isObject(p.counts) || !Array.isArray(p.identifiers) || !Array.isArray(p.names)) {
    throw new RecordError('tampered', 'a stored summary has an unknown shape');
  }
  return p as unknown as OwnerSummary;
}

export function newSalt(): string {
  return toHex(globalThis.crypto.getRandomValues(new Uint8Array(32)));
}

export function versionCommitment(h: StoredVersion): Uint8Array {
  return commitmentOf(fromHex(h.s, 32), h.r);
}
