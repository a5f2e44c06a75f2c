// The security layer live on a ledger: five clinics each run a SecurityService over a simulated consortium.
// A clinic whose key sends forged signatures to everyone is reported by every honest node, corroborated, and
// loses trust; an accusation only one clinic makes changes nothing; a clinician breaking the glass five times
// in a day is reported by every node from the committed decisions alone. Alerts say why; trust history and
// the trust vector for the consensus host follow the committed scores.
import { afterEach, describe, expect, it } from 'vitest';
import { Ed25519Signer } from '../../../wasm/index.ts';
import type { SimConsortium } from '../../../web/src/core/fl/index.ts';
import { useSimConsortium } from '../shared/sim-consortium.ts';
import { TxAuthor } from '../../../web/src/core/ledger/contracts/index.ts';
import { SecurityService, TRUST_RULE, reasonsPenalty } from '../../../web/src/core/security/index.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';

const startSim = useSimConsortium();
let services: SecurityService[] = [];
// Registered after useSimConsortium's hook, so it runs first (hooks unwind as a stack): the services stop
// before their consortium closes.
afterEach(() => {
  for (const s of services) s.stop();
  services = [];
});

async function consortium(seed: number): Promise<{ sim: SimConsortium; services: SecurityService[] }> {
  const s = await startSim({ clinics: 5, ledger: 'memory', seed });
  services = s.clinics.map((c) => new SecurityService({ ledger: c.ledger, author: c.author, clinic: c.id, schedule: s.schedule, tickMs: 5_000 }));
  for (const x of services) x.start();
  return { sim: s, services };
}

/** Runs virtual time forward by `ms` (the services' ticks, commits and network events happen on it). */
async function advance(s: SimConsortium, ms: number): Promise<void> {
  const until = s.net.clock.now() + ms;
  await s.run(new Promise<void>((resolve) => s.net.clock.schedule(ms, resolve)), () => false, until + 1);
  // Let the submissions the last events started commit.
  await s.run(new Promise<void>((resolve) => s.net.clock.schedule(50, resolve)));
}

describe('SecurityService', () => {
  it('honest nodes that each see forged signatures from one clinic report it; the ledger lowers its trust, and only its', async () => {
    const { sim: s, services: svc } = await consortium(1);
    const forger = s.clinics[4]!;
    const lone = s.clinics[3]!;
    // Every honest node sees five forged signatures from clinic-5 within a minute; clinic-1 alone also
    // claims clinic-4 equivocated (a lie, or a fault nobody else saw).
    for (const x of svc.slice(0, 4)) for (let k = 0; k < 5; k++) x.observeRejected(forger.peer, 'badSignature');
    for (let k = 0; k < 3; k++) svc[0]!.observeRejected(lone.peer, 'conflict');
    await advance(s, 70_000);
    const ledger = s.clinics[0]!.ledger;
    const contracts = ledger.contracts();
    const now = ledger.head().time;
    expect(
      contracts.reports
        .about('clinic-5')
        .map((r) => r.reporter)
        .sort(),
    ).toEqual(['clinic-1', 'clinic-2', 'clinic-3', 'clinic-4']);
    const penalty = reasonsPenalty([{ feature: 'invalidSignatures', value: 5, baseline: 0, scale: 1, score: 3500, hard: true }]);
    expect(contracts.reports.trust('clinic-5', now)).toBe(TRUST_RULE.initial - penalty);
    expect(contracts.reports.about('clinic-4')).toHaveLength(1);
    expect(contracts.reports.trust('clinic-4', now)).toBe(TRUST_RULE.initial);
    for (const id of ['clinic-1', 'clinic-2', 'clinic-3']) expect(contracts.reports.trust(id, now)).toBe(TRUST_RULE.initial);

    // The alert says why, and that it went on the ledger.
    const alert = svc[1]!.alerts().find((a) => a.subject === 'clinic-5')!;
    expect(alert).toMatchObject({ detector: 'network', subjectKey: forger.peer, reported: true, refused: null });
    expect(alert.reasons[0]).toMatchObject({ feature: 'invalidSignatures', value: 5 });
    expect(alert.reasons[0]!.text).toMatch(/invalid signatures: 5/);
    // Trust history: a point before and one after the penalty.
    const history = svc[2]!.trustHistory();
    expect(history[0]!.scores['clinic-5']).toBe(1000);
    expect(history.at(-1)!.scores['clinic-5']).toBe(1000 - penalty);
    // The trust vector for leader order follows the committed scores, and is handed over only on change.
    const keys = s.clinics.map((c) => c.author.publicKey);
    const trustAfter = svc[0]!.trustAfter(
      () => now,
      () => keys,
    );
    expect(trustAfter(1)).toEqual([1000, 1000, 1000, 1000, 1000 - penalty]);
    expect(trustAfter(2)).toBeUndefined();
    // A forger does not report itself, and never files about its own clinic.
    expect(contracts.reports.by('clinic-5')).toEqual([]);
  }, 60_000);

  it('every node reports a clinician breaking the glass five times in a day, from the committed decisions alone', async () => {
    const { sim: s, services: svc } = await consortium(2);
    const admin = s.clinics[0]!.author;
    const clinician = new TxAuthor(new Ed25519Signer(new Prng(7).bytes(32)), { now: () => s.clinics[0]!.ledger.now() });
    await s.run(s.clinics[0]!.ledger.submit(admin.make('registerKey', { key: clinician.publicKey, org: 'clinic-1', role: 'clinician', subject: 'dr-1' })));
    for (let k = 0; k < 5; k++) {
      const req = {
        requestId: `bg-${k}`,
        requesterOrg: 'clinic-1',
        patient: `p${k}`,
        holderOrg: 'clinic-2',
        resourceTypes: ['Condition'],
        purpose: 'ETREAT',
        breakGlass: true,
        emergencyReason: 'unconscious',
      };
      expect(await s.run(s.clinics[0]!.ledger.submit(clinician.make('requestAccess', req)))).toEqual({ ok: true });
    }
    // The day's window closes when a block of the next day commits.
    await advance(s, 86_400_000);
    await s.run(s.clinics[1]!.ledger.submit(s.clinics[1]!.author.make('flCloseRound', { task: 'none', round: 1 })));
    await advance(s, 1_000);
    const contracts = s.clinics[0]!.ledger.contracts();
    const reports = contracts.reports.about('clinic-1');
    expect(reports.map((r) => r.reporter).sort()).toEqual(['clinic-2', 'clinic-3', 'clinic-4', 'clinic-5']);
    expect(reports.every((r) => r.kind === 'access' && r.subject === toHex(clinician.publicKey) && r.reasons.some((t) => t.startsWith('breakGlass:5:')))).toBe(true);
    expect(contracts.reports.trust('clinic-1', s.clinics[0]!.ledger.head().time)).toBeLessThan(TRUST_RULE.initial);
    // clinic-1's own node saw it too, but does not report its own clinic.
    expect(svc[0]!.alerts()[0]).toMatchObject({ detector: 'access', subject: 'clinic-1', reported: false });
  }, 60_000);
});
