// Who is in the consortium and with which keys. Organisations are admitted and removed by a quorum of the
// validator organisations (quorumSize, so any two quorums share an honest organisation); each organisation's
// admin registers and revokes its keys. A patient's or guardian's key can only be registered by the clinic
// that holds the patient (the first to register one for that pseudonym), so no other member can speak for
// the patient. A removed organisation's keys stop authenticating at once; its validator leaves the set at
// the next checkpoint.
import { quorumSize } from '../quorum.ts';
import { toHex } from '../../util/index.ts';
import { ID, ORG_ID, need, type Rule, type RuleContext, type StateCore } from './state-core.ts';
import { latestValidators, scheduleValidators } from './consensus.ts';
import { claimPatient } from './patients.ts';

const ROLES = ['admin', 'clinician', 'auditor', 'patient', 'guardian', 'device', 'node'] as const;
export type Role = (typeof ROLES)[number];
/** A clinic's own staff, who may act on the records it holds: its node, its admins and its clinicians. */
export const isStaff = (role: Role): boolean => role === 'node' || role === 'admin' || role === 'clinician';
const MAX_NAME = 200;
/** The wasm replica runs 1 to 64 validators: a 65th validator organisation could never certify anything. */
export const MAX_VALIDATORS = 64;

export interface KeyRecord {
  org: string;
  role: Role;
  /** The patient's pseudonym (patient, guardian), the practitioner's id (clinician, optional), else ''. */
  subject: string;
  revoked: boolean;
  /** Height of the block that registered it (0: genesis). */
  registeredAt: number;
}

export interface OrgRecord {
  id: string;
  /** Display name. */
  name: string;
  validator: boolean;
  /** Hex Ed25519 key of the organisation's node: its first admin key and, for a validator, its PBFT key. */
  nodeKey: string;
  removed: boolean;
  admittedAt: number;
}

export interface ProposalRecord {
  org: string;
  kind: 'admit' | 'remove';
  /** For an admission: the new organisation's display name, node key and validator flag. */
  name: string;
  nodeKey: string;
  validator: boolean;
  /** Organisations that approved, the proposer first. */
  approvals: string[];
  proposedAt: number;
}

export const keyOf = (s: StateCore, publicKeyHex: string): KeyRecord | undefined => s.get<KeyRecord>(`key/${publicKeyHex}`);
export const orgOf = (s: StateCore, id: string): OrgRecord | undefined => s.get<OrgRecord>(`org/${id}`);
/** The organisation, if it is a member now (admitted and not removed). */
export const memberOf = (s: StateCore, id: string): OrgRecord | undefined => {
  const o = orgOf(s, id);
  return o && !o.removed ? o : undefined;
};

/** Ids of the member organisations that run a validator, sorted. */
export function validatorOrgs(s: StateCore): string[] {
  return s
    .list<OrgRecord>('org')
    .filter((o) => o.validator && !o.removed)
    .map((o) => o.id);
}

/** Writes a founding or admitted organisation and its node key (as its admin key). */
export function addOrg(s: StateCore, org: Omit<OrgRecord, 'removed'>): void {
  s.put(`org/${org.id}`, { ...org, removed: false } satisfies OrgRecord);
  s.put(`key/${org.nodeKey}`, { org: org.id, role: 'admin', subject: '', revoked: false, registeredAt: org.admittedAt } satisfies KeyRecord);
}

const registerKey: Rule<'registerKey'> = (tx, { s, signer, height }) => {
  const p = tx.payload;
  need(signer.role === 'admin', 'wrong-role');
  need(p.org === signer.org, 'wrong-org');
  need((ROLES as readonly string[]).includes(p.role), 'malformed');
  const personal = p.role === 'patient' || p.role === 'guardian';
  need(personal ? ID.test(p.subject) : p.subject === '' || ID.test(p.subject), 'malformed');
  need(keyOf(s, toHex(p.key)) === undefined, 'duplicate');
  if (personal) claimPatient(s, p.subject, signer.org);
  s.put(`key/${toHex(p.key)}`, { org: p.org, role: p.role as Role, subject: p.subject, revoked: false, registeredAt: height } satisfies KeyRecord);
};

const revokeKey: Rule<'revokeKey'> = (tx, { s, signer, signerHex }) => {
  const hex = toHex(tx.payload.key);
  const target = keyOf(s, hex);
  need(target !== undefined, 'unknown-key');
  need(hex === signerHex || (signer.role === 'admin' && signer.org === target.org), 'wrong-role');
  need(!target.revoked, 'already-done');
  s.put(`key/${hex}`, { ...target, revoked: true });
};

/** Only an admin of a validator organisation proposes or approves membership changes. */
function needValidatorAdmin(s: StateCore, signer: RuleContext['signer']): void {
  need(signer.role === 'admin', 'wrong-role');
  need(memberOf(s, signer.org)?.validator === true, 'wrong-org');
}

/** Approvals still counting (from validator organisations that are members now), and how many are needed. */
export function tally(s: StateCore, p: ProposalRecord): { approvals: string[]; needed: number } {
  const validators = validatorOrgs(s);
  return { approvals: p.approvals.filter((o) => validators.includes(o)), needed: quorumSize(validators.length) };
}

/** Records the signer's approval and carries the change out once a quorum approved. */
function approve(c: RuleContext, prop: ProposalRecord): void {
  const { s, signer, height } = c;
  need(!prop.approvals.includes(signer.org), 'already-done');
  const next = { ...prop, approvals: [...prop.approvals, signer.org] };
  const { approvals, needed } = tally(s, next);
  if (approvals.length < needed) {
    s.put(`proposal/${prop.org}`, next);
    return;
  }
  s.del(`proposal/${prop.org}`);
  if (prop.kind === 'admit') {
    // The key may have been registered by someone else since the proposal: check again now.
    need(keyOf(s, prop.nodeKey) === undefined, 'key-taken');
    if (prop.validator) need(latestValidators(s).length < MAX_VALIDATORS, 'too-many-validators');
    addOrg(s, { id: prop.org, name: prop.name, validator: prop.validator, nodeKey: prop.nodeKey, admittedAt: height });
    if (prop.validator) scheduleValidators(s, [...latestValidators(s), { org: prop.org, key: prop.nodeKey }], height);
  } else {
    const o = orgOf(s, prop.org)!;
    const before = latestValidators(s);
    const remaining = before.filter((v) => v.org !== o.id);
    need(remaining.length > 0, 'last-validator');
    s.put(`org/${o.id}`, { ...o, removed: true } satisfies OrgRecord);
    if (remaining.length !== before.length) scheduleValidators(s, remaining, height);
  }
}

const proposeOrg: Rule<'proposeOrg'> = (tx, c) => {
  const { s, signer, height } = c;
  const p = tx.payload;
  needValidatorAdmin(s, signer);
  need(ORG_ID.test(p.org) && p.name.trim() !== '' && p.name.length <= MAX_NAME, 'malformed');
  need(orgOf(s, p.org) === undefined && s.get(`proposal/${p.org}`) === undefined, 'duplicate');
  need(keyOf(s, toHex(p.adminKey)) === undefined, 'key-taken');
  need(!p.validator || latestValidators(s).length < MAX_VALIDATORS, 'too-many-validators');
  approve(c, { org: p.org, kind: 'admit', name: p.name, nodeKey: toHex(p.adminKey), validator: p.validator, approvals: [], proposedAt: height });
};

const approveOrg: Rule<'approveOrg'> = (tx, c) => {
  needValidatorAdmin(c.s, c.signer);
  const prop = c.s.get<ProposalRecord>(`proposal/${tx.payload.org}`);
  need(prop?.kind === 'admit', 'unknown-proposal');
  approve(c, prop);
};

const proposeRemoval: Rule<'proposeRemoval'> = (tx, c) => {
  const { s, signer, height } = c;
  needValidatorAdmin(s, signer);
  const o = memberOf(s, tx.payload.org);
  need(o !== undefined, 'unknown-org');
  need(s.get(`proposal/${o.id}`) === undefined, 'duplicate');
  approve(c, { org: o.id, kind: 'remove', name: o.name, nodeKey: o.nodeKey, validator: o.validator, approvals: [], proposedAt: height });
};

const approveRemoval: Rule<'approveRemoval'> = (tx, c) => {
  needValidatorAdmin(c.s, c.signer);
  const prop = c.s.get<ProposalRecord>(`proposal/${tx.payload.org}`);
  need(prop?.kind === 'remove', 'unknown-proposal');
  approve(c, prop);
};

export const membershipRules = { registerKey, revokeKey, proposeOrg, approveOrg, proposeRemoval, approveRemoval };
