// The contracts: one deterministic state machine over committed, signed transactions. It reads no clock but
// the block's agreed time (ApplyContext.time), uses integer arithmetic and no randomness. A transaction that
// fails a rule changes nothing but its own consumption: once a transaction authenticated (a live member's
// key signed it, within its expiry), its id is remembered until its expiry, so the same signed bytes can
// never apply later, whether they succeeded or not.
//
// State is a key-value map of plain JSON values (state-core.ts); the state root is kept incrementally and
// proves single leaves (state-tree.ts); a snapshot is the canonical JSON of the sorted [key, value] list.
import type { ApplyContext, ApplyResult, LedgerApp } from '../app.ts';
import { canonicalJson } from '../../codec/index.ts';
import { sha256 } from '../../../../../wasm/index.ts';
import { toHex } from '../../util/index.ts';
import { MAX_TX_LIFETIME_MS, decodeTx, verifySignature, type DecodedTx, type Tx } from './tx.ts';
import { ContractRejection, ID, ORG_ID, StateCore, type Rule, type RuleContext, type StateValue } from './state-core.ts';
import { StateTree, type StateProof } from './state-tree.ts';
import { ruleOf } from './rules.ts';
import { MAX_VALIDATORS, addOrg, keyOf, memberOf, orgOf, tally, validatorOrgs, type KeyRecord, type OrgRecord, type ProposalRecord, type Role } from './membership.ts';
import { CONSENSUS_KEY, PARAMS_KEY, consensusLeaf, rollEpoch, scheduleOf, validatorsForHeight, type ConsensusLeaf, type ParamsLeaf, type ValidatorSchedule } from './consensus.ts';
import { PURPOSE, consentLive, consentOf, consentsOfPatient, type ConsentRecord } from './consent.ts';
import { agreementOf, type AgreementRecord } from './agreements.ts';
import { decisionOf, type AccessDecision, type ReleaseRecord } from './access.ts';
import { emergencyPolicyOf, type EmergencyPolicy, type EvidenceRecord } from './break-glass.ts';
import { anchorCount, anchorOf, anchorsOf, type AnchorRecord } from './anchors.ts';
import { erasureOf, patientEvents, patientLeafOf, type ErasureRecord, type PatientEvent, type PatientLeaf, type SelfAccessRecord } from './patients.ts';
import { ExpiryQueue } from './expiry-queue.ts';
import { FlReader } from './fl.ts';
import { ReportsReader } from './reports.ts';

export interface GenesisOrg {
  readonly id: string;
  /** Display name. */
  readonly name: string;
  /** The organisation's node key: its first admin key (it registers the rest) and, for a validator, its PBFT key. */
  readonly adminKey: Uint8Array;
  readonly validator: boolean;
}

/** An agreement in force from genesis, signed by both parties. */
export interface GenesisAgreement {
  readonly agreementId: string;
  readonly orgA: string;
  readonly orgB: string;
  readonly purposes: readonly string[];
  readonly start: number;
  readonly end: number;
  readonly emergency?: boolean;
}

export interface ContractsGenesis {
  /** Founding organisations; validators in this order are epoch 0's validator set. */
  readonly orgs: readonly GenesisOrg[];
  readonly agreements?: readonly GenesisAgreement[];
  /** K: validator-set changes take effect at multiples of K (the PBFT checkpoint interval). */
  readonly checkpointInterval: number;
}

export class ContractsGenesisError extends Error {
  override readonly name = 'ContractsGenesisError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`contracts genesis ${field}: ${message}`);
  }
}

/** What became of a consumed transaction (kept until its expiry). */
export interface TxOutcome {
  notAfter: number;
  ok: boolean;
  /** The rejection reason; '' when ok. */
  reason: string;
  height: number;
  index: number;
}

export type KeyView = KeyRecord & { readonly key: string };
export type ProposalView = ProposalRecord & { readonly needed: number };
export type PatientLog = PatientLeaf & { readonly events: PatientEvent[] };

const UTF8 = new TextEncoder();

const byLedgerOrder = (a: { height: number; index: number }, b: { height: number; index: number }): number => a.height - b.height || a.index - b.index;

export class HygeiaContracts implements LedgerApp {
  private readonly s = new StateCore();
  private tree = new StateTree();
  /**
   * Each committed value's canonical JSON, kept as the tree hashes it: a checkpoint's snapshot joins these
   * instead of encoding the whole state again (it had come to 10-20 ms on a tablet, every K blocks).
   */
  private encoded = new Map<string, string>();
  /** Consumed transaction ids by expiry, to forget each once no block can carry it any more. */
  private seen = new ExpiryQueue();
  /** Federated-learning tasks and rounds (fl.ts). */
  readonly fl = new FlReader(this.s);
  /** Security reports, cases and trust scores (reports.ts). */
  readonly reports = new ReportsReader(this.s);

  constructor(readonly genesis: ContractsGenesis) {
    checkGenesis(genesis);
    this.s.put(PARAMS_KEY, { checkpointInterval: genesis.checkpointInterval } satisfies ParamsLeaf);
    const validators = genesis.orgs.filter((o) => o.validator).map((o) => ({ org: o.id, key: toHex(o.adminKey) }));
    this.s.put(CONSENSUS_KEY, { epoch: 0, validators, since: 0, next: null } satisfies ConsensusLeaf);
    for (const o of genesis.orgs) addOrg(this.s, { id: o.id, name: o.name, validator: o.validator, nodeKey: toHex(o.adminKey), admittedAt: 0 });
    for (const a of genesis.agreements ?? []) {
      this.s.put(`agreement/${a.agreementId}`, {
        agreementId: a.agreementId,
        orgA: a.orgA,
        orgB: a.orgB,
        purposes: [...new Set(a.purposes)].sort(),
        start: a.start,
        end: a.end,
        emergency: a.emergency ?? false,
        signedA: true,
        signedB: true,
        ended: false,
      } satisfies AgreementRecord);
    }
  }

  // ---- LedgerApp ------------------------------------------------------------------------------------------

  apply(bytes: Uint8Array, ctx: ApplyContext): ApplyResult {
    rollEpoch(this.s, ctx.height);
    for (const id of this.seen.popUpTo(ctx.time - 1)) this.s.del(`seen/${id}`);
    let d: DecodedTx;
    try {
      d = decodeTx(bytes);
    } catch {
      // Whatever does not decode (a TxDecodeError, a CodecError) is the same thing to the ledger.
      return { ok: false, reason: 'malformed' };
    }
    let rc: RuleContext;
    try {
      rc = this.authenticate(d, ctx);
    } catch (e) {
      if (e instanceof ContractRejection) return { ok: false, reason: e.reason };
      throw e;
    }
    let result: ApplyResult;
    this.s.begin();
    try {
      (ruleOf(d.tx.kind) as Rule<Tx['kind']>)(d.tx as never, rc);
      this.s.commit();
      result = { ok: true };
    } catch (e) {
      this.s.abort();
      if (!(e instanceof ContractRejection)) throw e;
      result = { ok: false, reason: e.reason };
    }
    // Consumed, whatever the rule decided: the outcome is kept (and readable) until the expiry.
    this.s.put(`seen/${rc.txId}`, { notAfter: d.tx.notAfter, ok: result.ok, reason: result.ok ? '' : result.reason, height: ctx.height, index: ctx.index } satisfies TxOutcome);
    this.seen.push(d.tx.notAfter, rc.txId);
    return result;
  }

  /** Expiry, a live member's key, its signature, and not consumed before; the rule's context if so. */
  private authenticate(d: DecodedTx, ctx: ApplyContext): RuleContext {
    const { tx } = d;
    if (tx.notAfter === 0) throw new ContractRejection('no-expiry');
    if (ctx.time > tx.notAfter) throw new ContractRejection('expired');
    if (tx.notAfter > ctx.time + MAX_TX_LIFETIME_MS) throw new ContractRejection('expiry-too-far');
    const signerHex = toHex(tx.signer);
    const signer = keyOf(this.s, signerHex);
    if (signer === undefined) throw new ContractRejection('unknown-key');
    if (!verifySignature(d)) throw new ContractRejection('forged-signature');
    const txId = toHex(sha256(d.body));
    if (this.s.has(`seen/${txId}`)) throw new ContractRejection('replay');
    if (signer.revoked) throw new ContractRejection('revoked-key');
    const org = orgOf(this.s, signer.org);
    if (org === undefined) throw new ContractRejection('unknown-org');
    if (org.removed) throw new ContractRejection('org-removed');
    return { s: this.s, signer, signerHex, txId, time: ctx.time, height: ctx.height, index: ctx.index };
  }

  stateRoot(): Uint8Array {
    for (const k of this.s.takeChanged()) {
      const v = this.s.get(k);
      if (v === undefined) {
        this.encoded.delete(k);
        this.tree.setCanonical(k, undefined);
      } else {
        const json = canonicalJson(v);
        this.encoded.set(k, json);
        this.tree.setCanonical(k, UTF8.encode(json));
      }
    }
    return this.tree.root();
  }

  /** canonicalJson(the sorted [key, value] list), from the values' kept encodings. */
  snapshot(): Uint8Array {
    this.stateRoot();
    const parts = [...this.encoded.keys()].sort().map((k) => `[${canonicalJson(k)},${this.encoded.get(k)!}]`);
    return UTF8.encode(`[${parts.join(',')}]`);
  }

  /** Replaces the state with a snapshot's; a snapshot that is not one leaves the state as it was. */
  restore(snapshot: Uint8Array): void {
    const parsed = JSON.parse(new TextDecoder().decode(snapshot)) as unknown;
    if (!Array.isArray(parsed)) throw new TypeError('not a contracts snapshot');
    let prev = '';
    for (const e of parsed) {
      if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || e[0] <= prev || e[1] === undefined) throw new TypeError('not a contracts snapshot');
      prev = e[0];
    }
    const entries = parsed as [string, StateValue][];
    if (!entries.some(([k]) => k === CONSENSUS_KEY) || !entries.some(([k]) => k === PARAMS_KEY)) throw new TypeError('not a contracts snapshot');
    this.s.replace(entries);
    this.tree = new StateTree();
    this.encoded = new Map();
    this.rebuildSeen();
  }

  private rebuildSeen(): void {
    this.seen = new ExpiryQueue();
    for (const k of this.s.keys('seen')) this.seen.push(this.s.get<TxOutcome>(k)!.notAfter, k.slice('seen/'.length));
  }

  /**
   * Block boundaries for a replica that checks a block's state root after executing it: abandonBlock()
   * undoes everything since beginBlock() (a served block whose root does not match must leave no trace).
   */
  beginBlock(): void {
    this.s.beginJournal();
  }
  endBlock(): void {
    this.s.endJournal();
  }
  abandonBlock(): void {
    this.s.rollbackJournal();
    this.rebuildSeen();
  }

  /**
   * The outcome of a transaction this ledger consumed (by its id, `txId(bytes)`), until the transaction's
   * expiry; undefined if it never authenticated here (or expired), so a submitter still waiting on it can stop.
   */
  txOutcome(id: Uint8Array | string): TxOutcome | undefined {
    const hex = typeof id === 'string' ? id : toHex(id);
    const o = this.s.get<TxOutcome>(`seen/${hex}`);
    return o && { ...o };
  }

  // ---- state proofs -----------------------------------------------------------------------------------------

  /** A leaf (its value, or null when absent) with its proof against stateRoot(). Verify with verifyStateProof. */
  stateProof(key: string): StateProof {
    this.stateRoot();
    return { key, value: this.s.get(key) ?? null, proof: this.tree.path(key) };
  }

  // ---- consensus ------------------------------------------------------------------------------------------

  consensus(): ConsensusLeaf {
    return structuredClone(consensusLeaf(this.s));
  }
  validatorSchedule(): ValidatorSchedule {
    return scheduleOf(this.s);
  }
  /** Validator keys (hex) that certify block `height`; valid once block height-1 (or later) is executed here. */
  validatorsForHeight(height: number): string[] {
    return validatorsForHeight(this.s, height).map((v) => v.key);
  }

  // ---- reads: membership ------------------------------------------------------------------------------------

  key(publicKey: Uint8Array): KeyRecord | undefined {
    return keyOf(this.s, toHex(publicKey));
  }
  org(id: string): OrgRecord | undefined {
    return orgOf(this.s, id);
  }
  /** Whether `org` is a member now (admitted and not removed). */
  isMember(org: string): boolean {
    return memberOf(this.s, org) !== undefined;
  }
  /** Every organisation ever admitted (removed ones flagged), by id. */
  orgs(): OrgRecord[] {
    return this.s.list<OrgRecord>('org');
  }
  validatorOrgs(): string[] {
    return validatorOrgs(this.s);
  }
  /** An organisation's keys, optionally of one role, by key. */
  keysOf(org: string, role?: Role): KeyView[] {
    return this.s
      .keys('key')
      .sort()
      .map((k) => ({ ...this.s.get<KeyRecord>(k)!, key: k.slice('key/'.length) }))
      .filter((k) => k.org === org && (role === undefined || k.role === role));
  }
  /** Open admission and removal proposals, with the approvals that still count and how many are needed. */
  membershipProposals(): ProposalView[] {
    return this.s.list<ProposalRecord>('proposal').map((p) => ({ ...p, ...tally(this.s, p) }));
  }

  // ---- reads: consent, agreements, access -------------------------------------------------------------------

  consent(id: string): ConsentRecord | undefined {
    return consentOf(this.s, id);
  }
  /** Consents naming `org` as grantee; only those in force at `liveAt` when given. */
  consentsByGrantee(org: string, liveAt?: number): ConsentRecord[] {
    return this.s.list<ConsentRecord>('consent').filter((c) => c.granteeOrg === org && (liveAt === undefined || consentLive(c, liveAt)));
  }
  consentsByPatient(pseudonym: string, liveAt?: number): ConsentRecord[] {
    return consentsOfPatient(this.s, pseudonym).filter((c) => liveAt === undefined || consentLive(c, liveAt));
  }
  agreement(id: string): AgreementRecord | undefined {
    return agreementOf(this.s, id);
  }
  agreementsOf(org: string): AgreementRecord[] {
    return this.s.list<AgreementRecord>('agreement').filter((a) => a.orgA === org || a.orgB === org);
  }
  decision(requestId: string): AccessDecision | undefined {
    return decisionOf(this.s, requestId);
  }
  decisionsByPatient(pseudonym: string): AccessDecision[] {
    return patientEvents(this.s, pseudonym)
      .filter((e) => e.kind === 'requestAccess')
      .map((e) => decisionOf(this.s, e.ref)!);
  }
  decisionsByRequester(org: string): AccessDecision[] {
    return this.s
      .list<AccessDecision>('access')
      .filter((d) => d.requesterOrg === org)
      .sort(byLedgerOrder);
  }
  decisionsByHolder(org: string): AccessDecision[] {
    return this.s
      .list<AccessDecision>('access')
      .filter((d) => d.holderOrg === org)
      .sort(byLedgerOrder);
  }
  releases(requestId: string): ReleaseRecord[] {
    return this.s.list<ReleaseRecord>(`release/${requestId}`).sort(byLedgerOrder);
  }
  emergencyPolicy(org: string): EmergencyPolicy | undefined {
    return emergencyPolicyOf(this.s, org);
  }
  /** Break-glass permits at `holder` that none of its auditors reviewed yet, in ledger order. */
  breakGlassReviewQueue(holder: string): AccessDecision[] {
    return this.decisionsByHolder(holder).filter((d) => d.breakGlass && d.decision === 'permit' && d.reviewed === '');
  }
  /** Evidence of misuse (unjustified break-glass), against one organisation or all, in ledger order. */
  evidence(org?: string): EvidenceRecord[] {
    const orgs = org === undefined ? this.orgs().map((o) => o.id) : [org];
    return orgs.flatMap((o) => this.s.list<EvidenceRecord>(`evidence/${o}`)).sort((a, b) => a.height - b.height || (a.requestId < b.requestId ? -1 : 1));
  }

  // ---- reads: records and patients ---------------------------------------------------------------------------

  anchorOf(org: string, record: string): AnchorRecord | undefined {
    return anchorOf(this.s, org, record);
  }
  anchorsOf(org: string): AnchorRecord[] {
    return anchorsOf(this.s, org);
  }
  anchorCount(org: string): number {
    return anchorCount(this.s, org);
  }
  /** The patient's completeness leaf and its events in order (holder '' and count 0 when the ledger knows none). */
  patientLog(pseudonym: string): PatientLog {
    const leaf = patientLeafOf(this.s, pseudonym) ?? { holder: '', count: 0, head: '0'.repeat(64) };
    return { ...leaf, events: patientEvents(this.s, pseudonym) };
  }
  erasure(holder: string, pseudonym: string): ErasureRecord | undefined {
    return erasureOf(this.s, holder, pseudonym);
  }
  /** Erasures asked of (or confirmed by) `holder`; pending only when `pendingOnly`. */
  erasureRequests(holder: string, pendingOnly = false): ErasureRecord[] {
    return this.s.list<ErasureRecord>(`erasure/${holder}`).filter((e) => !pendingOnly || e.status === 'requested');
  }
  selfAccesses(pseudonym: string): SelfAccessRecord[] {
    return this.s.list<SelfAccessRecord>(`self-access/${pseudonym}`).sort(byLedgerOrder);
  }
}

function checkGenesis(g: ContractsGenesis): void {
  if (!Number.isSafeInteger(g.checkpointInterval) || g.checkpointInterval < 1) throw new ContractsGenesisError('checkpointInterval', 'a positive integer');
  if (g.orgs.length === 0 || !g.orgs.some((o) => o.validator)) throw new ContractsGenesisError('orgs', 'at least one organisation, one of them a validator');
  if (g.orgs.filter((o) => o.validator).length > MAX_VALIDATORS) throw new ContractsGenesisError('orgs', `at most ${MAX_VALIDATORS} validators`);
  const ids = new Set<string>();
  const keys = new Set<string>();
  g.orgs.forEach((o, i) => {
    if (!ORG_ID.test(o.id) || ids.has(o.id)) throw new ContractsGenesisError(`orgs[${i}].id`, 'a lower-case slug, once');
    if (typeof o.name !== 'string' || o.name.trim() === '' || o.name.length > 200) throw new ContractsGenesisError(`orgs[${i}].name`, '1..200 characters');
    if (!(o.adminKey instanceof Uint8Array) || o.adminKey.length !== 32 || keys.has(toHex(o.adminKey))) throw new ContractsGenesisError(`orgs[${i}].adminKey`, '32 bytes, once');
    ids.add(o.id);
    keys.add(toHex(o.adminKey));
  });
  const agreementIds = new Set<string>();
  (g.agreements ?? []).forEach((a, i) => {
    if (!ID.test(a.agreementId) || agreementIds.has(a.agreementId)) throw new ContractsGenesisError(`agreements[${i}].agreementId`, 'an id, once');
    if (!ids.has(a.orgA) || !ids.has(a.orgB) || a.orgA === a.orgB) throw new ContractsGenesisError(`agreements[${i}]`, 'two different genesis organisations');
    if (a.purposes.length === 0 || !a.purposes.every((p) => PURPOSE.test(p))) throw new ContractsGenesisError(`agreements[${i}].purposes`, 'PurposeOfUse codes');
    if (!Number.isSafeInteger(a.start) || !Number.isSafeInteger(a.end) || a.start < 0 || a.end <= a.start) throw new ContractsGenesisError(`agreements[${i}]`, 'start < end');
    agreementIds.add(a.agreementId);
  });
}
