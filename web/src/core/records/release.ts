/// <reference types="fhir" />
// The requester's side of a record release: nothing released is kept until it is checked against what the
// holder committed on the ledger. Each item carries the holder's anchor id, the version and the salt of its
// commitment; the requester recomputes H(salt ‖ canonical(resource)) and compares it with the holder's
// latest anchor for that anchor id, which it reads from its own verified replica of the ledger.
import { equalBytes, fromHex } from '../util/index.ts';
import { isObject, isValidId, isValidResourceType } from './bundle.ts';
import { commitmentOf } from './payload.ts';

/** One released resource with what its anchor commits to (the shape of node/release-wire's ReleaseItem). */
export interface ReleasedItem {
  readonly anchorId: string;
  readonly version: number;
  readonly salt: Uint8Array;
  readonly resource: fhir4.Resource;
}

/** The holder's latest anchor for an anchor id, as the requester's replica of the ledger holds it. */
export interface CommittedAnchor {
  readonly version: number;
  /** 32 bytes, or 64 hex characters as the contracts' state keeps it. */
  readonly commitment: Uint8Array | string;
}

export type ReleaseCheckFailure =
  | 'malformed' // not an item with a 64-hex anchor id, a version, a 32-byte salt and a FHIR resource
  | 'type-not-granted' // a resource type the permit did not grant
  | 'duplicate' // an anchor id already accepted in this release
  | 'no-anchor' // the holder never anchored this anchor id
  | 'stale-version' // an older version than the holder's latest anchor
  | 'unanchored-version' // a newer version than the holder has anchored (not committed yet)
  | 'commitment-mismatch'; // the content (or salt) is not what the holder committed

export interface ReleaseCheck {
  readonly accepted: fhir4.Resource[];
  readonly refused: { readonly index: number; readonly reason: ReleaseCheckFailure }[];
}

const ANCHOR_ID = /^[0-9a-f]{64}$/;

function commitmentBytes(c: Uint8Array | string): Uint8Array | null {
  if (c instanceof Uint8Array) return c.length === 32 ? c : null;
  try {
    return fromHex(c, 32);
  } catch {
    return null;
  }
}

/**
 * Checks released items against the holder's committed anchors (latest version only). `grantedTypes`, when
 * given, refuses any other type. Refused items are never returned; the caller keeps only `accepted`.
 */
export async function checkReleased(
  items: readonly ReleasedItem[],
  lookupAnchor: (anchorId: string) => CommittedAnchor | undefined | Promise<CommittedAnchor | undefined>,
  opts: { grantedTypes?: readonly string[] } = {},
): Promise<ReleaseCheck> {
  const accepted: fhir4.Resource[] = [];
  const refused: { index: number; reason: ReleaseCheckFailure }[] = [];
  const seen = new Set<string>();
  for (let index = 0; index < items.length; index++) {
    const it = items[index] as unknown;
    const refuse = (reason: ReleaseCheckFailure): void => void refused.push({ index, reason });
    if (
      !isObject(it) ||
      typeof it.anchorId !== 'string' ||
      !ANCHOR_ID.test(it.anchorId) ||
      !Number.isSafeInteger(it.version) ||
      (it.version as number) < 1 ||
      !(it.salt instanceof Uint8Array) ||
      it.salt.length !== 32 ||
      !isObject(it.resource) ||
      !isValidResourceType(it.resource.resourceType) ||
      !isValidId(it.resource.id)
    ) {
      refuse('malformed');
      continue;
    }
    const item = it as unknown as ReleasedItem;
    if (opts.grantedTypes !== undefined && !opts.grantedTypes.includes(item.resource.resourceType)) {
      refuse('type-not-granted');
      continue;
    }
    const anchor = await lookupAnchor(item.anchorId);
    const committed = anchor === undefined ? null : commitmentBytes(anchor.commitment);
    if (anchor === undefined || committed === null) refuse('no-anchor');
    else if (item.version < anchor.version) refuse('stale-version');
    else if (item.version > anchor.version) refuse('unanchored-version');
    else if (!equalBytes(committed, commitmentOf(item.salt, item.resource))) refuse('commitment-mismatch');
    // Only an accepted item claims its anchor id, so each refusal names that item's own defect.
    else if (seen.has(item.anchorId)) refuse('duplicate');
    else {
      seen.add(item.anchorId);
      accepted.push(item.resource);
    }
  }
  return { accepted, refused };
}
