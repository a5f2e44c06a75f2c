// The phone's own check of what a clinic serves it. Trust starts from the genesis validators' keys and nothing
// else: a block header counts only with a quorum's attestation certificate (it covers the state root); a state
// leaf counts only with a Merkle proof against that root; and the patient's log leaf (a count and a running hash
// over every event about the patient) must be recomputed from the served events, so a clinic that leaves out
// an access, or invents one, is caught. An entry is `verified` only when all of that held here.
//
// The clinic's side (`buildProofBundle`) answers from its own replica, at a block it holds an attestation for
// and whose state it still has (the tip), reading the state and the header in one synchronous step.
import { decodeHeader, encodeHeader, blockHash } from '../ledger/block.ts';
import { decodeStateProofPath, encodeStateProofPath, type HygeiaContracts, type PatientEvent, type PatientLeaf, type TxKind } from '../ledger/contracts/index.ts';
import { patientLogHeadOf } from '../ledger/contracts/patients.ts';
import { LightClient } from '../ledger/light-client.ts';
import type { ConsensusNode } from '../consensus/index.ts';
import { fromHex, toHex } from '../util/index.ts';
import type { Genesis } from './genesis.ts';
import { encodeProofBundle, type ProofBundle, type StateLeaf } from './patient-proofs.ts';

/** The state key of what a patient-log event is about. */
function entryKey(e: PatientEvent): string | null {
  switch (e.kind) {
    case 'grantConsent':
    case 'revokeConsent':
      return `consent/${e.ref}`;
    case 'requestAccess':
    case 'reviewBreakGlass':
      return `access/${e.ref}`;
    case 'recordRelease':
      return `release/${e.ref}/${e.height}-${e.index}`;
    default:
      return null; // erasure requests and confirmations carry their meaning in the event itself
  }
}

/**
 * The clinic's answer to a phone: the patient's log leaf, every log event and every entry they name, each with
 * its proof, against the tip's state root; the tip's header and attestation. Null when the tip is not attested
 * yet (the caller asks again shortly).
 */
export function buildProofBundle(contracts: HygeiaContracts, consensus: ConsensusNode, pseudonym: string): Uint8Array | null {
  const h = consensus.height;
  const block = consensus.block(h);
  const attestation = consensus.attestation(h);
  if (!block || !attestation) return null;
  const keys = [`patient/${pseudonym}`];
  const log = contracts.patientLog(pseudonym);
  for (const e of log.events) {
    keys.push(`plog/${pseudonym}/${e.n}`);
    const k = entryKey(e);
    if (k && !keys.includes(k)) keys.push(k);
  }
  const leaves: StateLeaf[] = keys.map((key) => {
    const p = contracts.stateProof(key);
    return { key, value: p.value, proof: encodeStateProofPath(p.proof) };
  });
  return encodeProofBundle({ header: encodeHeader(block.header), attestation, leaves });
}

export interface BundleCheck {
  /** Keys of the entries this phone verified (and the log is complete). */
  readonly verifiedKeys: Set<string>;
  readonly height: number;
  readonly headHash: string;
  /** A served header contradicted one already accepted: evidence that validators disagree. */
  readonly conflict: boolean;
  /** Every event of the patient's log was served with its entry, all proven. */
  readonly complete: boolean;
}

export class PhoneVerifier {
  private readonly lc: LightClient;

  constructor(genesis: Genesis) {
    const validators = genesis.clinics.filter((c) => c.validator).map((c) => fromHex(c.nodeKey, 32));
    this.lc = new LightClient(validators, { checkpointInterval: genesis.consensus.checkpointInterval });
  }

  check(bundle: ProofBundle, pseudonym: string): BundleCheck {
    const none = (conflict = false): BundleCheck => ({ verifiedKeys: new Set(), height: 0, headHash: '', conflict, complete: false });
    if (bundle.header.length === 0) return none();
    let header;
    try {
      header = decodeHeader(bundle.header);
    } catch {
      return none();
    }
    const accepted = this.lc.acceptHeader(header, bundle.attestation);
    if (!accepted.ok) return none(accepted.reason === 'conflicting-header' || accepted.reason === 'chain-mismatch');
    const proven = new Map<string, unknown>();
    for (const l of bundle.leaves) {
      try {
        if (this.lc.verifyState(header.height, l.key, l.value, decodeStateProofPath(l.proof))) proven.set(l.key, l.value);
      } catch {
        // an undecodable proof proves nothing
      }
    }
    const result = { height: header.height, headHash: toHex(blockHash(header)), conflict: false, complete: false };
    const leaf = proven.get(`patient/${pseudonym}`) as PatientLeaf | undefined;
    if (!leaf) return { ...result, verifiedKeys: new Set() };
    const events: PatientEvent[] = [];
    for (let n = 0; n < leaf.count; n++) {
      const e = proven.get(`plog/${pseudonym}/${n}`) as PatientEvent | undefined;
      if (!e || e.n !== n) return { ...result, verifiedKeys: new Set() };
      events.push(e);
    }
    const head = patientLogHeadOf(events.map((e) => ({ kind: e.kind as TxKind, txId: fromHex(e.tx, 32) })));
    if (toHex(head) !== leaf.head) return { ...result, verifiedKeys: new Set() };
    const verifiedKeys = new Set<string>();
    for (const e of events) {
      const k = entryKey(e);
      if (!k) continue;
      // An event whose entry was left out or does not prove: the served trail is incomplete, trust none of it.
      if (!proven.has(k)) return { ...result, verifiedKeys: new Set() };
      verifiedKeys.add(k);
    }
    return { ...result, verifiedKeys, complete: true };
  }
}
