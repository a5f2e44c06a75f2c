/// <reference types="fhir" />
// The holding clinic's side of an access: it releases records only against a permit it found in its own
// verified replica of the ledger (so committed, and recomputed by itself), addressed to it, unexpired, for
// the patient it names, and only of the resource types granted. It returns the resources and the signed
// recordRelease transaction that puts the release on the ledger.
import { canonicalBytes } from '../../codec/index.ts';
import { sha256 } from '../../../../../wasm/index.ts';
import type { LedgerReplica } from './replica.ts';
import type { TxAuthor } from './tx.ts';

/** What a release reads from the clinic's records (the records store is one): the ledger does not import it. */
export interface ReleaseSource {
  /** The patient's pseudonym on the ledger. */
  pseudonym(patientId: string): string | Promise<string>;
  search(q: { patient: string; resourceType: string }): Promise<fhir4.Resource[]>;
}

export type ReleaseRefusal = 'no-decision' | 'denied' | 'not-holder' | 'expired' | 'wrong-patient';

export class ReleaseError extends Error {
  override readonly name = 'ReleaseError';
  constructor(readonly reason: ReleaseRefusal) {
    super(`release refused: ${reason}`);
  }
}

export async function releaseRecords(args: {
  replica: LedgerReplica;
  holderOrg: string;
  author: TxAuthor;
  store: ReleaseSource;
  requestId: string;
  /** The clinic's own id for the patient; its pseudonym must be the one the decision names. */
  patientId: string;
  /** The clinic's clock, compared with the permit's expiry. */
  now: number;
}): Promise<{ resources: fhir4.Resource[]; releaseTx: Uint8Array }> {
  const d = args.replica.app.decision(args.requestId);
  if (d === undefined) throw new ReleaseError('no-decision');
  if (d.decision !== 'permit') throw new ReleaseError('denied');
  if (d.holderOrg !== args.holderOrg) throw new ReleaseError('not-holder');
  if (args.now > d.expiresAt) throw new ReleaseError('expired');
  if ((await args.store.pseudonym(args.patientId)) !== d.patient) throw new ReleaseError('wrong-patient');
  const resources: fhir4.Resource[] = [];
  for (const t of d.grantedTypes) resources.push(...(await args.store.search({ patient: args.patientId, resourceType: t })));
  const digest = sha256(canonicalBytes(resources));
  const releaseTx = args.author.make('recordRelease', { requestId: d.requestId, resourceTypes: d.grantedTypes, count: resources.length, digest }, { notAfter: d.expiresAt });
  return { resources, releaseTx };
}
