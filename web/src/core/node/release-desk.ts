/// <reference types="fhir" />
// Record release between clinics. The holder sends exactly the resources a committed permit grants, to the
// requesting clinic's node only, with what the requester needs to check each one against the holder's
// committed anchors; then it records the release on the ledger. The requester keeps only what checks out. A
// denied request receives nothing: the holder acts only on a permit in its own replica of the ledger.
import type { AccessDecision, HygeiaContracts, TxAuthor } from '../ledger/contracts/index.ts';
import type { PeerId, Transport } from '../net/transport.ts';
import type { Clock } from '../consensus/index.ts';
import { decodeOrNull } from '../codec/index.ts';
import { checkReleased } from '../records/index.ts';
import { decodeRelease, encodeRelease, releaseDigest, ReleaseWireError, type ReleaseItem, type ReleaseMessage } from './release-wire.ts';
import type { LedgerService } from './ledger-service.ts';

const MAX_EARLY_RELEASES = 32;

export interface ReleaseSource {
  /** The granted resources of a patient, each with the salt and version its anchor commits to. */
  releasePackage(patientId: string, resourceTypes: readonly string[]): Promise<ReleaseItem[]>;
}

export interface Received {
  readonly holder: string;
  readonly patient: string;
  readonly receivedAt: number;
  readonly resources: fhir4.Resource[];
  readonly refused: number;
}

export interface ReleaseDeskDeps {
  readonly orgId: () => string;
  readonly contracts: HygeiaContracts;
  readonly ledger: LedgerService;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly node: TxAuthor;
  readonly source: ReleaseSource;
  /** Our patient id for a pseudonym the ledger names, if we hold that patient. */
  readonly patientOf: (pseudonym: string) => Promise<string | null>;
  /** The node keys (peer ids) of an organisation's tablets. */
  readonly nodesOf: (org: string) => PeerId[];
  readonly keep: (requestId: string, holder: string, patient: string, resources: fhir4.Resource[]) => Promise<void>;
  readonly onProblem: (message: string) => void;
}

export class ReleaseDesk {
  private readonly waiting = new Map<string, (m: { from: PeerId; message: ReleaseMessage }) => void>();
  private readonly early = new Map<string, { from: PeerId; message: ReleaseMessage }>();
  private readonly released = new Set<string>();

  constructor(private readonly d: ReleaseDeskDeps) {}

  /** The holder's side: called for every committed permit naming this clinic as holder. */
  async release(decision: AccessDecision): Promise<void> {
    if (this.released.has(decision.requestId) || decision.decision !== 'permit' || decision.holderOrg !== this.d.orgId()) return;
    if (this.d.clock.now() > decision.expiresAt) return;
    const patientId = await this.d.patientOf(decision.patient);
    if (!patientId) return;
    this.released.add(decision.requestId);
    let items: ReleaseItem[];
    try {
      items = await this.d.source.releasePackage(patientId, decision.grantedTypes);
    } catch (e) {
      this.d.onProblem(`Records for request ${decision.requestId.slice(0, 8)} could not be prepared (${e instanceof Error ? e.message : String(e)}).`);
      return;
    }
    const frame = encodeRelease({ requestId: decision.requestId, items });
    for (const peer of this.d.nodesOf(decision.requesterOrg)) this.d.transport.send(peer, frame);
    const tx = this.d.node.make(
      'recordRelease',
      { requestId: decision.requestId, resourceTypes: [...decision.grantedTypes], count: items.length, digest: releaseDigest(items) },
      { notAfter: Math.min(decision.expiresAt, this.d.clock.now() + 10 * 60_000) },
    );
    const o = await this.d.ledger.submit(tx).catch((e: unknown) => ({ ok: false, reason: e instanceof Error ? e.message : String(e) }));
    if (!o.ok) this.d.onProblem(`The release of request ${decision.requestId.slice(0, 8)} was not recorded on the ledger (${o.reason}).`);
  }

  /** The requester's side, before submitting the request: a promise of the holder's release. */
  expect(requestId: string): Promise<{ from: PeerId; message: ReleaseMessage }> {
    const e = this.early.get(requestId);
    if (e) {
      this.early.delete(requestId);
      return Promise.resolve(e);
    }
    return new Promise((resolve) => this.waiting.set(requestId, resolve));
  }

  forget(requestId: string): void {
    this.waiting.delete(requestId);
  }

  /** Checks a release against the holder's anchors and keeps what holds; returns how many were kept. */
  async accept(decision: AccessDecision, message: ReleaseMessage): Promise<{ kept: number; refused: number }> {
    const checked = await checkReleased(
      message.items,
      (anchorId) => {
        const a = this.d.contracts.anchorOf(decision.holderOrg, anchorId);
        return a ? { version: a.version, commitment: a.commitment } : undefined;
      },
      { grantedTypes: decision.grantedTypes },
    );
    await this.d.keep(decision.requestId, decision.holderOrg, decision.patient, checked.accepted);
    if (checked.refused.length > 0) this.d.onProblem(`${checked.refused.length} released records failed their ledger check and were discarded.`);
    return { kept: checked.accepted.length, refused: checked.refused.length };
  }

  /** A release frame from a peer. Only the holder's own node may answer a request. */
  onFrame(from: PeerId, bytes: Uint8Array): void {
    const message = decodeOrNull(decodeRelease, bytes, ReleaseWireError);
    if (message === null) return;
    const decision = this.d.contracts.decision(message.requestId);
    if (decision && !this.d.nodesOf(decision.holderOrg).includes(from)) return;
    const w = this.waiting.get(message.requestId);
    if (w) {
      this.waiting.delete(message.requestId);
      w({ from, message });
    } else if (!decision && this.early.size < MAX_EARLY_RELEASES) {
      // The holder committed the permit before we did: keep it until our replica has the decision.
      this.early.set(message.requestId, { from, message });
    }
  }
}
