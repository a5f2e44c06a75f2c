// The contracts behind the real LedgerApp seam: four wasm PBFT replicas (ConsensusNodes over the simulated
// network, on one virtual clock), whose validator keys are the organisations' node keys as in a real
// consortium, apply the consent lifecycle's signed transactions, one client request each, reach the same
// state root and the same access decisions, and a fresh LedgerReplica rebuilds the patient's audit trail
// from their blocks, checking every commit certificate against the validators.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { Ed25519Signer, Replica, encodeClientRequest, initCore } from '../../../wasm/index.ts';
import { ConsensusNode, clientPayload, replicaStartOptions } from '../../../web/src/core/consensus/index.ts';
import {
  HygeiaContracts,
  LedgerReplica,
  TxAuthor,
  auditTrail,
  verifyAuditCompleteness,
  verifyAuditEntry,
  type ContractsGenesis,
} from '../../../web/src/core/ledger/contracts/index.ts';
import { blockHash, type Block } from '../../../web/src/core/ledger/block.ts';
import { MemoryLedgerStore } from '../../../web/src/core/ledger/store.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';
import { SimNetwork } from '../../../web/src/core/net/sim-network.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

describe('contracts under PBFT', () => {
  it('four replicas apply the consent lifecycle to the same state and the same decisions', async () => {
    await initCore();
    const rng = new Prng(23);
    const net = new SimNetwork({ seed: 23, link: { minDelay: 1, jitter: 2 } });
    const clock = { now: () => T0 + net.clock.now(), schedule: (ms: number, fn: () => void) => net.clock.schedule(ms, fn) };
    const secrets = Array.from({ length: 4 }, () => rng.bytes(32));
    const author = (secret = rng.bytes(32)): TxAuthor => new TxAuthor(new Ed25519Signer(secret), { now: clock.now });
    const admins = secrets.map((s) => author(s));
    const keys = admins.map((a) => a.publicKey);
    const genesis: ContractsGenesis = {
      orgs: admins.map((a, i) => ({ id: `clinic-${i}`, name: `Clinic ${i}`, adminKey: a.publicKey, validator: true })),
      agreements: [{ agreementId: 'treat-01', orgA: 'clinic-0', orgB: 'clinic-1', purposes: ['TREAT'], start: 0, end: T0 + 3650 * DAY }],
      checkpointInterval: 4,
    };
    const patient = author();
    const clinician = author();
    const pseudonym = 'p-3f9a';
    const req = {
      requestId: 'r1',
      requesterOrg: 'clinic-1',
      patient: pseudonym,
      holderOrg: 'clinic-0',
      resourceTypes: ['Condition', 'Claim'],
      purpose: 'TREAT',
      breakGlass: false,
      emergencyReason: '',
    };
    // Each transaction is made when it is submitted, so its expiry follows the virtual clock.
    const workload: (() => Uint8Array)[] = [
      () => admins[0]!.make('registerKey', { key: patient.publicKey, org: 'clinic-0', role: 'patient', subject: pseudonym }),
      () => admins[1]!.make('registerKey', { key: clinician.publicKey, org: 'clinic-1', role: 'clinician', subject: 'dr-1' }),
      () =>
        patient.make('grantConsent', {
          consentId: 'c1',
          patient: pseudonym,
          granteeOrg: 'clinic-1',
          granteePractitioner: '',
          purpose: 'TREAT',
          resourceTypes: ['Condition'],
          start: T0,
          end: T0 + 30 * DAY,
        }),
      () => clinician.make('requestAccess', req),
      () => clinician.make('requestAccess', { ...req, requestId: 'r2', purpose: 'HMARKT' }),
      () => patient.make('revokeConsent', { consentId: 'c1' }),
      () => clinician.make('requestAccess', { ...req, requestId: 'r3' }),
      () => {
        const forged = clinician.make('requestAccess', { ...req, requestId: 'r4' });
        forged[forged.length - 1]! ^= 1;
        return forged;
      },
    ];

    const apps = keys.map(() => new HygeiaContracts(genesis));
    const committed = keys.map(() => new Set<string>());
    const nodes = keys.map(
      (k, i) =>
        new ConsensusNode({
          validators: keys,
          key: k,
          createReplica: (s) => new Replica({ ...replicaStartOptions(s), secretKey: secrets[i]!, checkpointInterval: 4, watermarkWindow: 16, maxBatch: 4 }),
          transport: net.join(toHex(k)),
          clock,
          app: apps[i]!,
          store: new MemoryLedgerStore(),
          checkpointInterval: 4,
          timers: { batchMs: 2, viewChangeBaseMs: 400, viewChangeMaxMs: 6_400, stateTransferMs: 500 },
          onEvent: (e) => {
            if (e.kind === 'committed') for (const t of e.block.txs) committed[i]!.add(toHex(t));
          },
        }),
    );
    for (const n of nodes) await n.start();

    const client = rng.bytes(32);
    const ids: string[] = [];
    for (let s = 0; s < workload.length; s++) {
      const request = encodeClientRequest(client, s + 1, workload[s]!());
      const id = toHex(request);
      ids.push(id);
      // Like a real client, resend until committed (a request reaching a replica mid-checkpoint may be dropped).
      let done = false;
      for (let attempt = 0; attempt < 10 && !done; attempt++) {
        for (const n of nodes) n.submit(request);
        // Virtual time in small slices, yielding between them so the nodes' asynchronous storage work runs.
        for (let slice = 0; slice < 100 && !done; slice++) {
          done = net.clock.runUntilCondition(() => committed.filter((set) => set.has(id)).length >= 3, net.clock.now() + 10);
          await new Promise((r) => setImmediate(r));
        }
      }
      expect(done, `tx ${s} of ${workload.length} committed`).toBe(true);
    }

    // Traffic past the next checkpoints (requests the contracts reject as undecodable) lets a replica that fell
    // behind catch up by state transfer, which installs a contracts snapshot checked against its state root.
    let pad = workload.length;
    const allCaughtUp = (): boolean => committed.every((set) => ids.every((id) => set.has(id))) || apps.every((x) => toHex(x.stateRoot()) === toHex(apps[0]!.stateRoot()));
    for (let round = 0; round < 12 && !allCaughtUp(); round++) {
      const request = encodeClientRequest(client, ++pad, new Uint8Array([0xff, round]));
      for (const n of nodes) n.submit(request);
      for (let slice = 0; slice < 50; slice++) {
        net.clock.runUntilCondition(() => false, net.clock.now() + 10);
        await new Promise((r) => setImmediate(r));
      }
    }
    const roots = apps.map((x) => toHex(x.stateRoot()));
    expect(new Set(roots).size).toBe(1);
    for (const app of apps) {
      expect(app.decision('r1')).toMatchObject({ decision: 'permit', grantedTypes: ['Condition'] });
      expect(app.decision('r2')).toMatchObject({ decision: 'deny', reason: 'no-agreement' });
      expect(app.decision('r3')).toMatchObject({ decision: 'deny', reason: 'consent-revoked' });
      expect(app.decision('r4')).toBeUndefined();
      expect(app.consent('c1')).toMatchObject({ patient: pseudonym, holder: 'clinic-0', revoked: true });
    }
    // A replica restored from another's snapshot has the same root.
    const restored = new HygeiaContracts(genesis);
    restored.restore(apps[1]!.snapshot());
    expect(toHex(restored.stateRoot())).toBe(roots[0]);

    // The patient's audit trail from PBFT's blocks alone (replayed and certificate-checked by a fresh replica),
    // each entry verifiable against the block the validators committed, and complete against the log leaf.
    const blocks: Block[] = [];
    for (let h = 1; nodes[0]!.block(h); h++) blocks.push(nodes[0]!.block(h)!);
    const trail = auditTrail(blocks, genesis, pseudonym, { payloadOf: clientPayload });
    expect(trail.map((e) => `${e.kind}:${e.subject}`)).toEqual(['grantConsent:c1', 'requestAccess:r1', 'requestAccess:r2', 'revokeConsent:c1', 'requestAccess:r3']);
    expect(trail.map((e) => e.decision?.decision ?? '-')).toEqual(['-', 'permit', 'deny', '-', 'deny']);
    for (const e of trail) expect(verifyAuditEntry(e, blockHash(nodes[3]!.block(e.height)!.header))).toBe(true);
    expect(verifyAuditEntry({ ...trail[4]!, tx: trail[1]!.tx }, blockHash(nodes[3]!.block(trail[4]!.height)!.header))).toBe(false);
    expect(verifyAuditCompleteness(apps[2]!.patientLog(pseudonym), trail, clientPayload)).toBe(true);
    // A server of blocks that drops one (the revocation's) cannot pass it off: the next block does not link.
    const revocationHeight = trail[3]!.height;
    expect(() => new LedgerReplica(genesis, { payloadOf: clientPayload }).sync(blocks.filter((b) => b.header.height !== revocationHeight))).toThrowError(
      expect.objectContaining({ reason: 'broken-chain' }),
    );
    // Nor forge a certificate: one signature flipped in a block's commit certificate.
    const doctored = blocks.map((b) => (b.header.height === revocationHeight ? { ...b, certificate: flipLast(b.certificate) } : b));
    expect(() => new LedgerReplica(genesis, { payloadOf: clientPayload }).sync(doctored)).toThrowError(
      expect.objectContaining({ reason: 'bad-certificate', height: revocationHeight }),
    );
    for (const n of nodes) await n.stop();
  }, 120_000);
});

function flipLast(b: Uint8Array): Uint8Array {
  const c = b.slice();
  c[c.length - 1]! ^= 1;
  return c;
}
