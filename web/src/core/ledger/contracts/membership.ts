// Who is in the consortium and with which keys: organisations (admitted by a quorum of the validator
// organisations), and the keys each organisation's admin registers and revokes.
import { quorumSize } from '../quorum.ts';
import { toHex } from '../../util/index.ts';
import { ORG_ID, need, type Rule, type StateCore } from './state-core.ts';

export const ROLES = ['admin', 'clinician', 'auditor', 'patient', 'guardian', 'device', 'node'] as const;
export type Role = (typeof ROLES)[number];

export interface KeyRecord {
  org: string;
  role: Role;
  subject: string;
  revoked: boolean;
  nonce: number;
}

export interface OrgRecord {
  validator: boolean;
}

export interface ProposalRecord {
  adminKey: string;
  validator: boolean;
  approvals: string[];
  done?: boolean;
}

export const keyOf = (s: StateCore, publicKeyHex: string): KeyRecord | undefined => s.get<KeyRecord>(`key/${publicKeyHex}`);
export const orgOf = (s: StateCore, id: string): OrgRecord | undefined => s.get<OrgRecord>(`org/${id}`);

/** Ids of the organisations that run a validator, sorted. */
export function validatorOrgs(s: StateCore): string[] {
  return s
    .keys('org')
    .filter((k) => s.get<OrgRecord>(k)!.validator)
    .map((k) => k.slice('org/'.length))
    .sort();
}

const registerKey: Rule<'registerKey'> = (tx, { s, signer }) => {
  const p = tx.payload;
  need(signer.role === 'admin', 'wrong-role');
  need(p.org === signer.org, 'wrong-org');
  need((ROLES as readonly string[]).includes(p.role), 'malformed');
  need(keyOf(s, toHex(p.key)) === undefined, 'duplicate');
  s.put(`key/${toHex(p.key)}`, { org: p.org, role: p.role as Role, subject: p.subject, revoked: false, nonce: 0 } satisfies KeyRecord);
};

const revokeKey: Rule<'revokeKey'> = (tx, { s, signer, signerHex }) => {
  const hex = toHex(tx.payload.key);
  const target = keyOf(s, hex);
  need(target !== undefined, 'unknown-key');
  need(hex === signerHex || (signer.role === 'admin' && signer.org === target.org), 'wrong-role');
  need(!target.revoked, 'already-done');
  s.put(`key/${hex}`, { ...target, revoked: true });
};

/** A proposal counts as its proposer's approval; the organisation is admitted at a quorum of validator orgs. */
const admit = (tx: Parameters<Rule<'proposeOrg'>>[0] | Parameters<Rule<'approveOrg'>>[0], { s, signer }: Parameters<Rule<'approveOrg'>>[1]): void => {
  need(signer.role === 'admin', 'wrong-role');
  need(orgOf(s, signer.org)?.validator === true, 'wrong-org');
  const id = tx.payload.org;
  need(ORG_ID.test(id), 'malformed');
  need(orgOf(s, id) === undefined, 'duplicate');
  let prop = s.get<ProposalRecord>(`proposal/${id}`);
  if (tx.kind === 'proposeOrg') {
    need(prop === undefined, 'duplicate');
    need(keyOf(s, toHex(tx.payload.adminKey)) === undefined, 'duplicate');
    prop = { adminKey: toHex(tx.payload.adminKey), validator: tx.payload.validator, approvals: [] };
  }
  need(prop !== undefined, 'unknown-org');
  need(!prop.approvals.includes(signer.org), 'already-done');
  const approvals = [...prop.approvals, signer.org].sort();
  if (approvals.length >= quorumSize(validatorOrgs(s).length)) {
    s.put(`org/${id}`, { validator: prop.validator } satisfies OrgRecord);
    s.put(`key/${prop.adminKey}`, { org: id, role: 'admin', subject: '', revoked: false, nonce: 0 } satisfies KeyRecord);
    s.put(`proposal/${id}`, { ...prop, approvals, done: true });
  } else s.put(`proposal/${id}`, { ...prop, approvals });
};

export const membershipRules = {
  registerKey,
  revokeKey,
  proposeOrg: admit as Rule<'proposeOrg'>,
  approveOrg: admit as Rule<'approveOrg'>,
};
