// Record anchors: an organisation commits to each version of each record it holds (a salted hash, no content),
// so a record served later can be checked against the ledger, and a version can never be rolled back.
import { toHex } from '../../util/index.ts';
import { need, type Rule, type StateCore } from './state-core.ts';

export interface AnchorRecord {
  org: string;
  record: string;
  version: number;
  commitment: string;
  height: number;
}

export const anchorOf = (s: StateCore, org: string, record: string): AnchorRecord | undefined => s.get<AnchorRecord>(`anchor/${org}/${record}`);

const anchor: Rule<'anchor'> = (tx, { s, signer, height }) => {
  const p = tx.payload;
  need(signer.role === 'node' || signer.role === 'admin' || signer.role === 'device', 'wrong-role');
  need(p.record.length === 64, 'malformed');
  const prev = anchorOf(s, signer.org, p.record);
  need(prev === undefined || p.version > prev.version, 'stale-version');
  s.put(`anchor/${signer.org}/${p.record}`, { org: signer.org, record: p.record, version: p.version, commitment: toHex(p.commitment), height } satisfies AnchorRecord);
};

export const anchorRules = { anchor };
