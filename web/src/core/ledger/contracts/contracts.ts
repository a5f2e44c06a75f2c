// The contracts: one deterministic state machine over committed, signed transactions. It reads no clock but
// the block's agreed time (ApplyContext.time), uses integer arithmetic and no randomness, and a rejected
// transaction changes nothing. State is a sorted key-value map of plain JSON values (state-core.ts); the
// state root is the RFC 6962 Merkle root over canonical JSON [key, value] leaves, and a snapshot is that list.
import type { ApplyContext, ApplyResult, LedgerApp } from '../app.ts';
import { merkleRoot } from '../merkle.ts';
import { canonicalJson } from '../../codec/index.ts';
import { toHex } from '../../util/index.ts';
import { decodeTx, verifySignature, type DecodedTx, type Tx } from './tx.ts';
import { ContractRejection, ORG_ID, StateCore, type Rule, type RuleContext, type StateValue } from './state-core.ts';
import { RULES } from './rules.ts';
import { keyOf, orgOf, validatorOrgs, type KeyRecord, type OrgRecord } from './membership.ts';
import { consentOf, type ConsentRecord } from './consent.ts';
import { agreementOf, type AgreementRecord } from './agreements.ts';
import { decisionOf, type AccessDecision, type ReleaseRecord } from './access.ts';
import { anchorOf, type AnchorRecord } from './anchors.ts';

export interface GenesisOrg {
  readonly id: string;
  /** The organisation's first admin key (it registers the rest). */
  readonly adminKey: Uint8Array;
  readonly validator: boolean;
}

export class HygeiaContracts implements LedgerApp {
  private readonly s = new StateCore();

  constructor(readonly genesis: readonly GenesisOrg[]) {
    for (const o of genesis) {
      if (!ORG_ID.test(o.id)) throw new TypeError('organisation ids are lower-case slugs');
      this.s.put(`org/${o.id}`, { validator: o.validator } satisfies OrgRecord);
      this.s.put(`key/${toHex(o.adminKey)}`, { org: o.id, role: 'admin', subject: '', revoked: false, nonce: 0 } satisfies KeyRecord);
    }
  }

  // ---- reads ----------------------------------------------------------------------------------------------

  key(publicKey: Uint8Array): KeyRecord | undefined {
    return keyOf(this.s, toHex(publicKey));
  }
  org(id: string): OrgRecord | undefined {
    return orgOf(this.s, id);
  }
  consent(id: string): ConsentRecord | undefined {
    return consentOf(this.s, id);
  }
  agreement(id: string): AgreementRecord | undefined {
    return agreementOf(this.s, id);
  }
  decision(requestId: string): AccessDecision | undefined {
    return decisionOf(this.s, requestId);
  }
  releases(requestId: string): ReleaseRecord[] {
    return this.s.list<ReleaseRecord>(`release/${requestId}`);
  }
  anchorOf(org: string, record: string): AnchorRecord | undefined {
    return anchorOf(this.s, org, record);
  }
  /** Break-glass decisions no auditor has reviewed yet, in request order. */
  breakGlassForReview(): AccessDecision[] {
    return this.s
      .list<AccessDecision>('access')
      .filter((d) => d.breakGlass && d.reviewed === '')
      .sort((a, b) => a.height - b.height || a.index - b.index);
  }
  validatorOrgs(): string[] {
    return validatorOrgs(this.s);
  }

  // ---- LedgerApp ------------------------------------------------------------------------------------------

  apply(bytes: Uint8Array, ctx: ApplyContext): ApplyResult {
    let d: DecodedTx;
    try {
      d = decodeTx(bytes);
    } catch {
      // Whatever does not decode (a TxDecodeError, a CodecError) is the same thing to the ledger.
      return { ok: false, reason: 'malformed' };
    }
    this.s.begin();
    try {
      const signer = this.authenticate(d, ctx);
      const signerHex = toHex(d.tx.signer);
      const rc: RuleContext = { s: this.s, signer, signerHex, time: ctx.time, height: ctx.height, index: ctx.index };
      (RULES[d.tx.kind] as Rule<Tx['kind']>)(d.tx as never, rc);
      this.s.put(`key/${signerHex}`, { ...keyOf(this.s, signerHex)!, nonce: d.tx.nonce });
      this.s.commit();
      return { ok: true };
    } catch (e) {
      this.s.abort();
      if (e instanceof ContractRejection) return { ok: false, reason: e.reason };
      throw e;
    }
  }

  private authenticate(d: DecodedTx, ctx: ApplyContext): KeyRecord {
    const { tx } = d;
    const signer = this.key(tx.signer);
    if (signer === undefined) throw new ContractRejection('unknown-key');
    if (!verifySignature(d)) throw new ContractRejection('forged-signature');
    if (signer.revoked) throw new ContractRejection('revoked-key');
    if (tx.nonce <= signer.nonce) throw new ContractRejection('replay');
    if (tx.notAfter !== 0 && ctx.time > tx.notAfter) throw new ContractRejection('expired');
    if (this.org(signer.org) === undefined) throw new ContractRejection('unknown-org');
    return signer;
  }

  stateRoot(): Uint8Array {
    const utf8 = new TextEncoder();
    return merkleRoot(this.s.sortedEntries().map((e) => utf8.encode(canonicalJson(e))));
  }

  snapshot(): Uint8Array {
    return new TextEncoder().encode(canonicalJson(this.s.sortedEntries()));
  }

  restore(snapshot: Uint8Array): void {
    const parsed = JSON.parse(new TextDecoder().decode(snapshot)) as [string, StateValue][];
    if (!Array.isArray(parsed)) throw new TypeError('not a contracts snapshot');
    this.s.replace(parsed);
  }
}
