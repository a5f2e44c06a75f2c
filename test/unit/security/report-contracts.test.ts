// Security reports as contract rules (`fileReport`, tag 40): who may report what about whom, canonical
// reasons, window bounds, and trust that moves only when f+1 distinct clinics corroborate a case, by the
// (f+1)-th largest penalty, recovering by whole days of block time.
import { describe, expect, it } from 'vitest';
import type { Payload } from '../../../web/src/core/ledger/contracts/index.ts';
import { DAY_MS, TRUST_RULE, reasonText, reasonsPenalty, recoverTrust, type Reason } from '../../../web/src/core/security/index.ts';
import { toHex } from '../../../web/src/core/util/index.ts';
import { ledgerFixture, T0 } from '../fl/ledger-fixture.ts';
import { useCore } from '../shared/core.ts';

useCore();

const MINUTE = 60_000;
const flood = (score: number): Reason => ({ feature: 'messageRate', value: 3000, baseline: 300, scale: 20, score, hard: false });
const forged: Reason = { feature: 'invalidSignatures', value: 9, baseline: 0, scale: 1, score: 3500, hard: true };
const window = Math.floor(T0 / MINUTE);

function report(over: Partial<Payload<'fileReport'>> = {}): Payload<'fileReport'> {
  return { kind: 'network', subject: 'clinic-5', window, reasons: [reasonText(flood(7000))], ...over };
}

describe('fileReport', () => {
  it('refuses wrong roles, unknown subjects, self-reports, bad reasons and bad windows, recording nothing', () => {
    const fx = ledgerFixture(11);
    const a = fx.admin['clinic-1']!;
    const refusals: [Partial<Payload<'fileReport'>>, string][] = [
      [{ kind: 'fl-update' }, 'malformed'], // FL flags travel with the aggregate
      [{ kind: 'gossip' }, 'malformed'],
      [{ subject: 'clinic-9' }, 'unknown-subject'],
      [{ subject: 'ab'.repeat(32) }, 'unknown-subject'],
      [{ subject: 'clinic-1' }, 'self-report'],
      [{ reasons: [] }, 'malformed'],
      [{ reasons: [reasonText({ ...flood(7000), feature: 'breakGlass' })] }, 'malformed'], // an access feature
      [{ reasons: [reasonText(forged), reasonText(flood(4000))] }, 'malformed'], // not strongest first
      [{ reasons: ['messageRate:03000:300:20:7000:0'] }, 'malformed'],
      [{ window: window + 10 }, 'future-window'],
      [{ window: window - 8 * 1440 }, 'stale-report'],
    ];
    for (const [over, reason] of refusals) expect(fx.submit(a.make('fileReport', report(over))), JSON.stringify(over)).toEqual({ ok: false, reason });
    expect(fx.submit(fx.clinician.make('fileReport', report({ subject: 'clinic-2' })))).toEqual({ ok: false, reason: 'wrong-role' });
    expect(fx.ids.flatMap((id) => fx.ledger.app.reports.about(id))).toEqual([]);
    expect(fx.submit(a.make('fileReport', report()))).toEqual({ ok: true });
    expect(fx.submit(a.make('fileReport', report()))).toEqual({ ok: false, reason: 'duplicate' });
    // A subject named by one of its keys resolves to its clinic.
    expect(fx.submit(fx.admin['clinic-2']!.make('fileReport', report({ subject: toHex(fx.clinician.publicKey) })))).toEqual({ ok: true });
    expect(fx.ledger.app.reports.about('clinic-1').map((r) => [r.reporter, r.subject])).toEqual([['clinic-2', toHex(fx.clinician.publicKey)]]);
    expect(fx.ledger.app.reports.by('clinic-1')).toMatchObject([{ subjectOrg: 'clinic-5', reasons: [reasonText(flood(7000))], penalty: 40 }]);
  });

  it('moves trust only at f+1 distinct reporters, by the (f+1)-th largest penalty', () => {
    const fx = ledgerFixture(12);
    const file = (id: string, reasons: Reason[]) => fx.submit(fx.admin[id]!.make('fileReport', report({ reasons: reasons.map(reasonText) })));
    // A lone liar asks for the largest penalty: nothing happens (f = 1 for five clinics).
    expect(file('clinic-1', [forged])).toEqual({ ok: true });
    expect(fx.ledger.app.reports.trust('clinic-5', fx.time)).toBe(1000);
    // An honest second reporter asks 40: the 2nd largest of {240, 40} applies.
    expect(file('clinic-2', [flood(7000)])).toEqual({ ok: true });
    expect(fx.ledger.app.reports.trust('clinic-5', fx.time)).toBe(960);
    // A third asks 80: the 2nd largest of {240, 40, 80} is 80, so 40 more.
    expect(file('clinic-3', [flood(14000)])).toEqual({ ok: true });
    expect(fx.ledger.app.reports.trust('clinic-5', fx.time)).toBe(920);
    const c = fx.ledger.app.reports.case('network', 'clinic-5', window)!;
    expect(c).toMatchObject({ applied: 80, asks: { 'clinic-1': 240, 'clinic-2': 40, 'clinic-3': 80 } });
    expect(fx.ledger.app.reports.corroborated().map((x) => x.subjectOrg)).toEqual(['clinic-5']);
    expect(fx.ledger.app.reports.trustRecord('clinic-5')!.history.map((h) => h.score)).toEqual([960, 920]);
  });

  it('recovers by whole days of block time, and a later penalty applies to the recovered score', () => {
    const fx = ledgerFixture(13);
    for (const id of ['clinic-1', 'clinic-2']) expect(fx.submit(fx.admin[id]!.make('fileReport', report({ reasons: [reasonText(forged)] })))).toEqual({ ok: true });
    const after = TRUST_RULE.initial - reasonsPenalty([forged]);
    expect(fx.ledger.app.reports.trust('clinic-5', fx.time)).toBe(after);
    expect(fx.ledger.app.reports.trust('clinic-5', fx.time + DAY_MS - 1)).toBe(after);
    expect(fx.ledger.app.reports.trust('clinic-5', fx.time + 3 * DAY_MS)).toBe(recoverTrust(after, 3));
    // Three days later, a new corroborated case.
    const w2 = window + 3 * 1440;
    fx.advance(3 * DAY_MS);
    for (const id of ['clinic-3', 'clinic-4']) expect(fx.submit(fx.admin[id]!.make('fileReport', report({ window: w2 })))).toEqual({ ok: true });
    expect(fx.ledger.app.reports.trust('clinic-5', fx.time)).toBe(recoverTrust(after, 3) - 40);
  });
});
