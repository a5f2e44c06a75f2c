// The contracts behind the real LedgerApp seam: four wasm PBFT replicas (ConsensusNodes over the simulated
// network, on one virtual clock) apply the consent lifecycle's signed transactions, one client request
// each, and reach the same state root and the same access decisions as the in-memory ledger did.
import 'fake-indexeddb/auto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Replica, ed25519PublicKey, encodeClientRequest, initCore } from '../../../wasm/index.ts';
import { ConsensusNode, clientPayload } from '../../../web/src/core/consensus/index.ts';
import { HygeiaContracts, auditTrail, verifyAuditEntry } from '../../../web/src/core/ledger/contracts/index.ts';
import { blockHash, type Block } from '../../../web/src/core/ledger/block.ts';
import { MemoryLedgerStore } from '../../../web/src/core/ledger/store.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';
import { SimNetwork } from '../../../web/src/core/net/sim-network.ts';
import { Consortium, DAY } from '../../../web/src/core/eval/consortium.ts';

const dataDir = path.resolve(import.meta.dirname, '../../..', '../shared/data/synthea');
const bundle = (i: number): unknown => JSON.parse(readFileSync(path.join(dataDir, readdirSync(dataDir).filter((f) => f.endsWith('.json')).sort()[i]!), 'utf8'));

describe('contracts under PBFT', () => {
  it('four replicas apply the consent lifecycle to the same state and the same decisions', async () => {
    await initCore();
    // The workload, built and checked on the in-memory ledger first.
    const c = await Consortium.create({ seed: 23, dbPrefix: 'pbft-contracts' });
    const [a, b] = [c.clinic('clinic-a'), c.clinic('clinic-b')];
    const p = await c.enrol(a, bundle(1));
    c.agree(b, a, 'agr-ab', ['TREAT']);
    c.must(p.key.make('grantConsent', { consentId: 'c1', patient: p.pseudonym, granteeOrg: b.id, granteePractitioner: '', purpose: 'TREAT', resourceTypes: ['Condition'], start: c.time, end: c.time + 30 * DAY }));
    const req = { requestId: 'r1', requesterOrg: b.id, patient: p.pseudonym, holderOrg: a.id, resourceTypes: ['Condition', 'Claim'], purpose: 'TREAT', breakGlass: false };
    c.must(b.clinician.make('requestAccess', req));
    c.must(b.clinician.make('requestAccess', { ...req, requestId: 'r2', purpose: 'HMARKT' }));
    c.must(p.key.make('revokeConsent', { consentId: 'c1' }));
    c.must(b.clinician.make('requestAccess', { ...req, requestId: 'r3' }));
    const forged = b.clinician.make('requestAccess', { ...req, requestId: 'r4' });
    forged[forged.length - 1]! ^= 1;
    const txs = [...c.ledger.blocks.flatMap((blk) => blk.txs), forged];
    const memory = c.ledger.app;
    expect(memory.decision('r4')).toBeUndefined();

    // Four validators on the simulated network; their clock starts where the consortium's stopped, so every
    // consent is in its period as it was on the in-memory ledger.
    const rng = new Prng(23);
    const secrets = Array.from({ length: 4 }, () => rng.bytes(32));
    const keys = secrets.map((s) => ed25519PublicKey(s));
    const net = new SimNetwork({ seed: 23, link: { minDelay: 1, jitter: 2 } });
    const base = c.time;
    const clock = { now: () => base + net.clock.now(), schedule: (ms: number, fn: () => void) => net.clock.schedule(ms, fn) };
    const apps = keys.map(() => new HygeiaContracts(c.genesis));
    const committed = keys.map(() => new Set<string>());
    const nodes = keys.map(
      (k, i) =>
        new ConsensusNode({
          validators: keys,
          key: k,
          createReplica: () => new Replica({ validators: keys, self: i, secretKey: secrets[i]!, checkpointInterval: 4, watermarkWindow: 16, maxBatch: 4 }),
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

    // One request at a time: a signer's nonces must commit in order.
    const client = rng.bytes(32);
    for (let s = 0; s < txs.length; s++) {
      const request = encodeClientRequest(client, s + 1, txs[s]!);
      const id = toHex(request);
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
      expect(done, `tx ${s} of ${txs.length} committed`).toBe(true);
    }

    // Traffic past the next checkpoints (requests the contracts reject as undecodable) lets a replica that fell
    // behind catch up by state transfer, which installs a contracts snapshot checked against its state root.
    let pad = txs.length;
    const ids = txs.map((t, s) => toHex(encodeClientRequest(client, s + 1, t)));
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
      for (const id of ['r1', 'r2', 'r3']) {
        const mine = app.decision(id);
        const theirs = memory.decision(id)!;
        expect(mine, id).toBeDefined();
        expect([mine!.decision, mine!.reason, mine!.grantedTypes]).toEqual([theirs.decision, theirs.reason, theirs.grantedTypes]);
      }
      expect(app.decision('r4')).toBeUndefined();
      expect(app.consent('c1')).toMatchObject({ patient: p.pseudonym });
    }
    expect(apps[0]!.decision('r1')).toMatchObject({ decision: 'permit', grantedTypes: ['Condition'] });
    expect(apps[0]!.decision('r2')?.decision).toBe('deny');
    expect(apps[0]!.decision('r3')).toMatchObject({ decision: 'deny', reason: 'consent-revoked' });
    // A replica restored from another's snapshot has the same root.
    const restored = new HygeiaContracts(c.genesis);
    restored.restore(apps[1]!.snapshot());
    expect(toHex(restored.stateRoot())).toBe(roots[0]);

    // The patient's audit trail from PBFT's blocks alone (replayed and checked by a fresh replica), each entry
    // verifiable against the block the validators committed.
    const blocks: Block[] = [];
    for (let h = 1; nodes[0]!.block(h); h++) blocks.push(nodes[0]!.block(h)!);
    const trail = auditTrail(blocks, c.genesis, p.pseudonym, { validators: keys, payloadOf: clientPayload });
    expect(trail.map((e) => `${e.kind}:${e.subject}`)).toEqual(['grantConsent:c1', 'requestAccess:r1', 'requestAccess:r2', 'revokeConsent:c1', 'requestAccess:r3']);
    expect(trail.map((e) => e.decision?.decision ?? '-')).toEqual(['-', 'permit', 'deny', '-', 'deny']);
    for (const e of trail) expect(verifyAuditEntry(e, blockHash(nodes[3]!.block(e.height)!.header))).toBe(true);
    expect(verifyAuditEntry({ ...trail[4]!, tx: trail[1]!.tx }, blockHash(nodes[3]!.block(trail[4]!.height)!.header))).toBe(false);
    for (const n of nodes) await n.stop();
    c.close();
  }, 120_000);
});
