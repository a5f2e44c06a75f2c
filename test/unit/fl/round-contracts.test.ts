// FL rounds as contract rules (tags 32–36): opening with its parameters, one update digest per clinic per
// round (or a decline), closing by completeness or after the deadline, agreement on the aggregate by a quorum of the round's
// clinics, flags corroborated by f+1 clinics putting a clinic on probation and costing it trust, and every
// refusal typed and changing nothing.
import { describe, expect, it } from 'vitest';
import type { Payload } from '../../../web/src/core/ledger/contracts/index.ts';
import { PROBATION_ROUNDS } from '../../../web/src/core/ledger/contracts/fl.ts';
import { TRUST_RULE, reasonText, reasonsPenalty, type Reason } from '../../../web/src/core/security/index.ts';
import { toHex } from '../../../web/src/core/util/index.ts';
import { ledgerFixture, type LedgerFixture } from './ledger-fixture.ts';
import { useCore } from '../shared/core.ts';

useCore();

const digest = (b: number): Uint8Array => new Uint8Array(32).fill(b);
const HOUR = 3_600_000;

function openPayload(fx: LedgerFixture, over: Partial<Payload<'flOpenRound'>> = {}): Payload<'flOpenRound'> {
  return {
    task: 'cancer',
    round: 1,
    model: 'logreg:30',
    base: digest(1),
    rule: 'trimmed',
    epochs: 1,
    batchSize: 16,
    learningRate: 100_000,
    seed: 7,
    clinics: fx.ids,
    deadline: fx.time + HOUR,
    dpClip: 0,
    dpNoise: 0,
    dpDeltaInv: 0,
    ...over,
  };
}

const high: Reason = { feature: 'updateNormHigh', value: 90_000_000, baseline: 900_000, scale: 90_000, score: 600_000, hard: false };
const flag = (clinic: string, r: Reason = high): string => `${clinic}:${reasonText(r)}`;

/** Opens round `round` and has every clinic commit an update (so it closes). */
function throughUpdates(fx: LedgerFixture, round: number, base: Uint8Array): void {
  expect(fx.submit(fx.admin['clinic-1']!.make('flOpenRound', openPayload(fx, { round, base })))).toEqual({ ok: true });
  fx.ids.forEach((id, i) => {
    expect(fx.submit(fx.admin[id]!.make('flCommitUpdate', { task: 'cancer', round, digest: digest(10 * round + i), samples: 50 + i, bytes: 200 }))).toEqual({ ok: true });
  });
}

function aggregate(fx: LedgerFixture, id: string, round: number, d: Uint8Array, flags: string[] = []) {
  return fx.submit(fx.admin[id]!.make('flCommitAggregate', { task: 'cancer', round, digest: d, flags }));
}

describe('opening a round', () => {
  it('records the parameters; every refusal is typed and opens nothing', () => {
    const fx = ledgerFixture(1);
    const a = fx.admin['clinic-1']!;
    const refusals: [Partial<Payload<'flOpenRound'>>, string][] = [
      [{ task: 'Bad Task' }, 'malformed'],
      [{ model: 'resnet:30' }, 'malformed'],
      [{ rule: 'mean' }, 'malformed'],
      [{ epochs: 0 }, 'malformed'],
      [{ dpNoise: 1100 }, 'malformed'], // DP needs the dp-mean rule, a clip and a delta
      [{ rule: 'dp-mean' }, 'malformed'],
      [{ clinics: ['clinic-1', 'clinic-1'] }, 'malformed'],
      [{ clinics: ['clinic-1', 'clinic-9'] }, 'unknown-org'],
      [{ clinics: ['clinic-2', 'clinic-3'] }, 'not-eligible'],
      [{ deadline: fx.time - 1 }, 'bad-period'],
      [{ round: 2 }, 'out-of-order'],
    ];
    for (const [over, reason] of refusals) expect(fx.submit(a.make('flOpenRound', openPayload(fx, over))), JSON.stringify(over)).toEqual({ ok: false, reason });
    expect(fx.submit(fx.clinician.make('flOpenRound', openPayload(fx)))).toEqual({ ok: false, reason: 'wrong-role' });
    expect(fx.ledger.app.fl.tasks()).toEqual([]);

    expect(fx.submit(a.make('flOpenRound', openPayload(fx, { clinics: [...fx.ids].reverse() })))).toEqual({ ok: true });
    const r = fx.ledger.app.fl.round('cancer', 1)!;
    expect(r).toMatchObject({ round: 1, seq: 1, model: 'logreg:30', base: toHex(digest(1)), rule: 'trimmed', state: 'open', openedBy: 'clinic-1', learningRate: 100_000 });
    expect(r.clinics).toEqual(fx.ids);
    expect(r.counted).toEqual(fx.ids);
    expect(fx.submit(a.make('flOpenRound', openPayload(fx)))).toEqual({ ok: false, reason: 'out-of-order' });
  });

  it('accepts a DP round with the dp-mean rule, a clip, a noise multiplier and a delta', () => {
    const fx = ledgerFixture(2);
    const dp = { rule: 'dp-mean', dpClip: 1_000_000, dpNoise: 1_100, dpDeltaInv: 100_000 };
    expect(fx.submit(fx.admin['clinic-1']!.make('flOpenRound', openPayload(fx, dp)))).toEqual({ ok: true });
    expect(fx.ledger.app.fl.task('cancer')).toMatchObject({ dpClip: 1_000_000, dpNoise: 1_100, dpDeltaInv: 100_000 });
  });
});

describe('updates and closing', () => {
  it('takes one digest per eligible clinic and closes when all committed', () => {
    const fx = ledgerFixture(3);
    expect(fx.submit(fx.admin['clinic-1']!.make('flOpenRound', openPayload(fx, { clinics: ['clinic-1', 'clinic-2', 'clinic-3', 'clinic-4'] })))).toEqual({ ok: true });
    const up = (id: string, b: number, over: Partial<Payload<'flCommitUpdate'>> = {}) =>
      fx.submit(fx.admin[id]!.make('flCommitUpdate', { task: 'cancer', round: 1, digest: digest(b), samples: 10, bytes: 100, ...over }));
    expect(up('clinic-5', 5)).toEqual({ ok: false, reason: 'not-eligible' });
    expect(up('clinic-1', 1, { round: 2 })).toEqual({ ok: false, reason: 'unknown-round' });
    expect(up('clinic-1', 1, { samples: 0 })).toEqual({ ok: false, reason: 'malformed' });
    expect(up('clinic-1', 1, { bytes: 17 << 20 })).toEqual({ ok: false, reason: 'malformed' });
    expect(up('clinic-1', 1)).toEqual({ ok: true });
    expect(up('clinic-1', 9)).toEqual({ ok: false, reason: 'duplicate' });
    expect(aggregate(fx, 'clinic-1', 1, digest(0))).toEqual({ ok: false, reason: 'round-open' });
    expect(fx.submit(fx.admin['clinic-2']!.make('flCloseRound', { task: 'cancer', round: 1 }))).toEqual({ ok: false, reason: 'too-early' });
    for (const [id, b] of [
      ['clinic-2', 2],
      ['clinic-3', 3],
    ] as const)
      expect(up(id, b)).toEqual({ ok: true });
    expect(fx.ledger.app.fl.round('cancer', 1)!.state).toBe('open');
    expect(up('clinic-4', 4)).toEqual({ ok: true });
    expect(fx.ledger.app.fl.round('cancer', 1)!.state).toBe('closed');
    expect(up('clinic-4', 4)).toEqual({ ok: false, reason: 'round-not-open' });
    // The agreed set: counted clinics' updates ordered by digest.
    expect(fx.ledger.app.fl.agreedSet('cancer', 1).map((e) => e.clinic)).toEqual(['clinic-1', 'clinic-2', 'clinic-3', 'clinic-4']);
  });

  it('after the deadline refuses updates and lets a clinic close the round with what was committed', () => {
    const fx = ledgerFixture(4);
    expect(fx.submit(fx.admin['clinic-1']!.make('flOpenRound', openPayload(fx)))).toEqual({ ok: true });
    expect(fx.submit(fx.admin['clinic-2']!.make('flCommitUpdate', { task: 'cancer', round: 1, digest: digest(2), samples: 10, bytes: 100 }))).toEqual({ ok: true });
    fx.advance(2 * HOUR);
    expect(fx.submit(fx.admin['clinic-3']!.make('flCommitUpdate', { task: 'cancer', round: 1, digest: digest(3), samples: 10, bytes: 100 }))).toEqual({
      ok: false,
      reason: 'past-deadline',
    });
    expect(fx.submit(fx.admin['clinic-3']!.make('flCloseRound', { task: 'cancer', round: 1 }))).toEqual({ ok: true });
    expect(fx.ledger.app.fl.agreedSet('cancer', 1).map((e) => e.clinic)).toEqual(['clinic-2']);
    expect(fx.submit(fx.admin['clinic-4']!.make('flCloseRound', { task: 'cancer', round: 1 }))).toEqual({ ok: false, reason: 'round-not-open' });
  });
  it('takes a decline from a clinic with no data in place of its update; the round closes when every clinic committed or declined', () => {
    const fx = ledgerFixture(5);
    expect(fx.submit(fx.admin['clinic-1']!.make('flOpenRound', openPayload(fx, { clinics: ['clinic-1', 'clinic-2', 'clinic-3', 'clinic-4'] })))).toEqual({ ok: true });
    const decline = (id: string, reason: string, round = 1) => fx.submit(fx.admin[id]!.make('flDeclineRound', { task: 'cancer', round, reason }));
    const up = (id: string, b: number) => fx.submit(fx.admin[id]!.make('flCommitUpdate', { task: 'cancer', round: 1, digest: digest(b), samples: 10, bytes: 100 }));
    expect(decline('clinic-5', 'no-data')).toEqual({ ok: false, reason: 'not-eligible' });
    expect(decline('clinic-1', 'bored')).toEqual({ ok: false, reason: 'malformed' });
    expect(decline('clinic-1', 'no-data', 2)).toEqual({ ok: false, reason: 'unknown-round' });
    expect(fx.submit(fx.clinician.make('flDeclineRound', { task: 'cancer', round: 1, reason: 'no-data' }))).toEqual({ ok: false, reason: 'wrong-role' });
    expect(fx.ledger.app.fl.round('cancer', 1)!.declined).toEqual({});

    expect(decline('clinic-1', 'too-few-rows')).toEqual({ ok: true });
    // One answer per clinic: neither a second decline nor an update after it, nor a decline after an update.
    expect(decline('clinic-1', 'no-data')).toEqual({ ok: false, reason: 'duplicate' });
    expect(up('clinic-1', 1)).toEqual({ ok: false, reason: 'duplicate' });
    expect(up('clinic-2', 2)).toEqual({ ok: true });
    expect(decline('clinic-2', 'no-data')).toEqual({ ok: false, reason: 'duplicate' });
    expect(up('clinic-3', 3)).toEqual({ ok: true });
    expect(fx.ledger.app.fl.round('cancer', 1)!.state).toBe('open');
    expect(up('clinic-4', 4)).toEqual({ ok: true });
    const r = fx.ledger.app.fl.round('cancer', 1)!;
    expect(r.state).toBe('closed');
    expect(r.declined).toEqual({ 'clinic-1': 'too-few-rows' });
    expect(fx.ledger.app.fl.agreedSet('cancer', 1).map((e) => e.clinic)).toEqual(['clinic-2', 'clinic-3', 'clinic-4']);
    // The clinic that sat out still votes on the aggregate: with clinic-2 and clinic-3 it makes the quorum of 3.
    for (const id of ['clinic-1', 'clinic-2']) expect(aggregate(fx, id, 1, digest(99))).toEqual({ ok: true });
    expect(fx.ledger.app.fl.round('cancer', 1)!.state).toBe('closed');
    expect(aggregate(fx, 'clinic-3', 1, digest(99))).toEqual({ ok: true });
    expect(fx.ledger.app.fl.round('cancer', 1)!).toMatchObject({ state: 'agreed', agreed: toHex(digest(99)) });
    expect(decline('clinic-4', 'no-data')).toEqual({ ok: false, reason: 'round-not-open' });
  });

  it('refuses a decline after the deadline', () => {
    const fx = ledgerFixture(6);
    expect(fx.submit(fx.admin['clinic-1']!.make('flOpenRound', openPayload(fx)))).toEqual({ ok: true });
    fx.advance(2 * HOUR);
    expect(fx.submit(fx.admin['clinic-2']!.make('flDeclineRound', { task: 'cancer', round: 1, reason: 'no-data' }))).toEqual({ ok: false, reason: 'past-deadline' });
    expect(fx.ledger.app.fl.round('cancer', 1)!.declined).toEqual({});
  });
});

describe('agreement, flags, probation and trust', () => {
  it('agrees at a quorum of equal digests (4 of 5), not before, and not on a minority digest', () => {
    const fx = ledgerFixture(5);
    throughUpdates(fx, 1, digest(1));
    expect(aggregate(fx, 'clinic-1', 1, digest(99))).toEqual({ ok: true });
    expect(aggregate(fx, 'clinic-1', 1, digest(99))).toEqual({ ok: false, reason: 'duplicate' });
    expect(aggregate(fx, 'clinic-2', 1, digest(98))).toEqual({ ok: true }); // a disagreeing (faulty) node
    expect(aggregate(fx, 'clinic-3', 1, digest(99))).toEqual({ ok: true });
    expect(aggregate(fx, 'clinic-4', 1, digest(99))).toEqual({ ok: true });
    expect(fx.ledger.app.fl.round('cancer', 1)!.state).toBe('closed');
    expect(fx.submit(fx.admin['clinic-1']!.make('flOpenRound', openPayload(fx, { round: 2, base: digest(99) })))).toEqual({ ok: false, reason: 'out-of-order' });
    expect(aggregate(fx, 'clinic-5', 1, digest(99))).toEqual({ ok: true });
    expect(fx.ledger.app.fl.round('cancer', 1)).toMatchObject({ state: 'agreed', agreed: toHex(digest(99)) });
    expect(fx.ledger.app.fl.task('cancer')).toMatchObject({ agreedRound: 1, agreedDigest: toHex(digest(99)) });
    expect(fx.submit(fx.admin['clinic-1']!.make('flOpenRound', openPayload(fx, { round: 2, base: digest(98) })))).toEqual({ ok: false, reason: 'bad-base' });
    expect(fx.submit(fx.admin['clinic-1']!.make('flOpenRound', openPayload(fx, { round: 2, base: digest(99), model: 'mlp:30' })))).toEqual({ ok: false, reason: 'malformed' });
    expect(fx.submit(fx.admin['clinic-2']!.make('flOpenRound', openPayload(fx, { round: 2, base: digest(99) })))).toEqual({ ok: true });
  });

  it('refuses flags that are not canonical, about oneself, or about a clinic without an update', () => {
    const fx = ledgerFixture(6);
    throughUpdates(fx, 1, digest(1));
    const bad: [string[], string][] = [
      [[flag('clinic-1')], 'self-report'],
      [[`clinic-9:${reasonText(high)}`], 'malformed'],
      [[flag('clinic-3'), flag('clinic-2')], 'malformed'], // not grouped in ascending order
      [[flag('clinic-2'), flag('clinic-2')], 'malformed'], // one feature twice
      [[`clinic-2:${reasonText(high).replace('updateNormHigh', 'requestRate')}`], 'malformed'], // not an update feature
      [['clinic-2'], 'malformed'],
    ];
    for (const [flags, reason] of bad) expect(aggregate(fx, 'clinic-1', 1, digest(99), flags), flags.join()).toEqual({ ok: false, reason });
    const dir: Reason = { feature: 'updateDirection', value: 10, baseline: 1700, scale: 150, score: 7_000, hard: false };
    expect(aggregate(fx, 'clinic-1', 1, digest(99), [flag('clinic-2'), flag('clinic-2', dir)])).toEqual({ ok: true });
  });

  it('a clinic flagged by f+1 clinics is on probation for the next rounds and loses trust; one accuser alone changes nothing', () => {
    const fx = ledgerFixture(7);
    throughUpdates(fx, 1, digest(1));
    // clinic-5 is flagged by clinics 1 and 2 (f + 1 = 2); clinic-4 only by clinic-5 (a lone accuser).
    expect(aggregate(fx, 'clinic-1', 1, digest(99), [flag('clinic-5')])).toEqual({ ok: true });
    expect(fx.ledger.app.reports.trust('clinic-5', fx.time)).toBe(TRUST_RULE.initial);
    expect(aggregate(fx, 'clinic-2', 1, digest(99), [flag('clinic-5')])).toEqual({ ok: true });
    expect(aggregate(fx, 'clinic-5', 1, digest(99), [flag('clinic-4')])).toEqual({ ok: true });
    expect(aggregate(fx, 'clinic-3', 1, digest(99))).toEqual({ ok: true });
    const r1 = fx.ledger.app.fl.round('cancer', 1)!;
    expect(r1.state).toBe('agreed');
    expect(r1.flagged).toEqual(['clinic-5']);
    expect(fx.ledger.app.reports.trust('clinic-5', fx.time)).toBe(TRUST_RULE.initial - reasonsPenalty([high]));
    expect(fx.ledger.app.reports.trust('clinic-4', fx.time)).toBe(TRUST_RULE.initial);
    expect(fx.ledger.app.reports.case('fl-update', 'clinic-5', r1.seq)).toMatchObject({ applied: reasonsPenalty([high]), corroboratedAt: expect.any(Number) });

    // Rounds 2 .. 1 + PROBATION_ROUNDS count everyone but clinic-5, whose update is still committed.
    for (let round = 2; round <= 2 + PROBATION_ROUNDS; round++) {
      throughUpdates(fx, round, digest(99));
      const r = fx.ledger.app.fl.round('cancer', round)!;
      const expected = round <= 1 + PROBATION_ROUNDS ? ['clinic-5'] : [];
      expect(r.probation, `round ${round}`).toEqual(expected);
      expect(Object.keys(r.updates)).toContain('clinic-5');
      expect(fx.ledger.app.fl.agreedSet('cancer', round).map((e) => e.clinic)).toEqual(fx.ids.filter((c) => !expected.includes(c)));
      for (const id of fx.ids.slice(0, 4)) expect(aggregate(fx, id, round, digest(99))).toEqual({ ok: true });
      expect(fx.ledger.app.fl.round('cancer', round)!.state).toBe('agreed');
    }
  });
});
