/// <reference types="fhir" />
// Record release on the wire (channel R): the holding clinic sends the requester exactly the resources a
// committed permit grants, each with what the requester needs to check it against the holder's committed
// anchors (the anchor id the holder's ledger entries name, the version, and the salt of its commitment).
//
//   release = uint(version = 1) ‖ str(requestId) ‖ list(item)
//   item    = str(anchorId, 64 hex) ‖ uint(version) ‖ fixed32(salt) ‖ bytes(canonical JSON of the resource)
//
// Nothing here is trusted by the requester until the records store's `checkReleased` has recomputed every
// commitment and found it equal to the latest anchor the holder committed for that anchor id.
import { Reader, Writer, canonicalBytes, jsonOfBytes } from '../codec/index.ts';
import { sha256 } from '../../../../wasm/index.ts';

export const CHANNEL_RELEASE = 0x52; // 'R'
export const RELEASE_VERSION = 1;
export const MAX_RELEASE_ITEMS = 20_000;
const MAX_RESOURCE_BYTES = 1 << 20;
export const MAX_RELEASE_BYTES = 32 << 20;

export interface ReleaseItem {
  readonly anchorId: string;
  readonly version: number;
  readonly salt: Uint8Array;
  readonly resource: fhir4.Resource;
}

export interface ReleaseMessage {
  readonly requestId: string;
  readonly items: ReleaseItem[];
}

export class ReleaseWireError extends Error {
  override readonly name = 'ReleaseWireError';
}

export function encodeRelease(m: ReleaseMessage): Uint8Array {
  const w = new Writer(1024);
  w.uint(CHANNEL_RELEASE);
  w.uint(RELEASE_VERSION);
  w.str(m.requestId);
  w.list(m.items, (w, it) => {
    w.str(it.anchorId);
    w.uint(it.version);
    w.fixed(it.salt);
    w.bytes(canonicalBytes(it.resource));
  });
  return w.finish();
}

/** Decodes a release frame (channel byte included); throws ReleaseWireError on anything malformed. */
export function decodeRelease(frame: Uint8Array): ReleaseMessage {
  if (frame.length > MAX_RELEASE_BYTES) throw new ReleaseWireError('release too large');
  const r = new Reader(frame, MAX_RELEASE_BYTES);
  if (r.uint() !== CHANNEL_RELEASE || r.uint() !== RELEASE_VERSION) throw new ReleaseWireError('not a release frame');
  const requestId = r.str(128);
  const raw = r.list(MAX_RELEASE_ITEMS, (r) => ({ anchorId: r.str(64), version: r.uint(), salt: r.fixed(32), body: r.bytes(MAX_RESOURCE_BYTES) }));
  if (!r.end()) throw new ReleaseWireError(`release does not decode (${r.error ?? 'trailing bytes'})`);
  const items = raw.map(({ anchorId, version, salt, body }): ReleaseItem => {
    const resource = jsonOfBytes(body) as fhir4.Resource | undefined;
    if (resource === undefined) throw new ReleaseWireError('a released resource is not JSON');
    if (typeof resource !== 'object' || resource === null || typeof resource.resourceType !== 'string') throw new ReleaseWireError('a released item is not a FHIR resource');
    if (!/^[0-9a-f]{64}$/.test(anchorId)) throw new ReleaseWireError('a released item has a malformed anchor id');
    return { anchorId, version, salt, resource };
  });
  return { requestId, items };
}

/** The digest a release is recorded under on the ledger: sha256 over the canonical item list. */
export function releaseDigest(items: readonly ReleaseItem[]): Uint8Array {
  const w = new Writer(256);
  w.uint(items.length);
  for (const it of items) {
    w.str(it.anchorId);
    w.uint(it.version);
    w.fixed(sha256(canonicalBytes(it.resource)));
  }
  return sha256(w.finish());
}
