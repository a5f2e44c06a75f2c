// Record anchors: an organisation commits to each version of each record it holds (a salted hash, no content),
// so a record served later can be checked against the ledger, and a version can never be rolled back: each
// record's version only moves forward, checked per record (a batch holding one rollback is refused whole,
// so a batch is all or nothing like every transaction).
import { toHex } from '../../util/index.ts';
import { need, type Rule, type RuleContext, type StateCore } from './state-core.ts';
import type { AnchorEntry } from './tx.ts';

export interface AnchorRecord {
  org: string;
  record: string;
  version: number;
  /** Hex of the 32-byte commitment. */
  commitment: string;
  /** The block that anchored this version. */
  height: number;
}

/** What the state stores per record: the key already names the organisation and the record (keeps 100,000s of anchors small). */
type StoredAnchor = Pick<AnchorRecord, 'version' | 'commitment' | 'height'>;

/** Records are named by the holder's keyed hash of (type, id): 64 lower-case hex characters. */
const RECORD_ID = /^[0-9a-f]{64}$/;

export function anchorOf(s: StateCore, org: string, record: string): AnchorRecord | undefined {
  const a = s.get<StoredAnchor>(`anchor/${org}/${record}`);
  return a && { org, record, ...a };
}

/** How many records one organisation has anchored (a status line asks after every block). */
export function anchorCount(s: StateCore, org: string): number {
  return s.count(`anchor/${org}`);
}

/** Every anchor of one organisation, by record id. */
export function anchorsOf(s: StateCore, org: string): AnchorRecord[] {
  const dir = `anchor/${org}`;
  return s
    .keys(dir)
    .sort()
    .map((k) => ({ org, record: k.slice(dir.length + 1), ...s.get<StoredAnchor>(k)! }));
}

function put(c: RuleContext, a: AnchorEntry): void {
  const { s, signer, height } = c;
  need(RECORD_ID.test(a.record) && a.version >= 1, 'malformed');
  const prev = anchorOf(s, signer.org, a.record);
  need(prev === undefined || a.version > prev.version, 'stale-version');
  s.put(`anchor/${signer.org}/${a.record}`, { version: a.version, commitment: toHex(a.commitment), height } satisfies StoredAnchor);
}

const mayAnchor = (c: RuleContext): void => need(c.signer.role === 'node' || c.signer.role === 'admin' || c.signer.role === 'device', 'wrong-role');

const anchor: Rule<'anchor'> = (tx, c) => {
  mayAnchor(c);
  put(c, tx.payload);
};

const anchorBatch: Rule<'anchorBatch'> = (tx, c) => {
  mayAnchor(c);
  need(tx.payload.anchors.length > 0, 'malformed');
  for (const a of tx.payload.anchors) put(c, a);
};

export const anchorRules = { anchor, anchorBatch };
