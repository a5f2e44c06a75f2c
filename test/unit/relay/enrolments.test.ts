// One-time enrolments at the relay: a hash, a short expiry, one phone, a bounded number per clinic.
import { describe, expect, it } from 'vitest';
import { EnrolmentError, EnrolmentRegistry, MAX_ENROLMENTS_PER_CLINIC, MAX_ENROLMENT_MS, codeHashOfTopic, enrolTopic } from '../../../relay/enrolments.ts';
import { thrown } from '../shared/thrown.ts';

const H = (i: number) => i.toString(16).padStart(64, '0');
const reason = (fn: () => unknown): string => thrown(fn, EnrolmentError, (e) => e.reason, 'ok');

describe('EnrolmentRegistry', () => {
  it('opens an enrolment for a short while, for one phone', () => {
    const clock = { now: 1000 };
    const r = new EnrolmentRegistry(() => clock.now);
    r.register(H(1), 'clinic', clock.now + 60_000);
    expect(r.use(H(1), 'phone-a')).toBe(true);
    expect(r.use(H(1), 'phone-a')).toBe(true);
    expect(r.use(H(1), 'phone-b')).toBe(false);
    clock.now += 60_000;
    expect(r.get(H(1))).toBeUndefined();
    expect(r.use(H(1), 'phone-a')).toBe(false);
  });

  it('refuses a malformed hash, a long or past expiry, a repeated hash and a clinic with too many open', () => {
    const r = new EnrolmentRegistry(() => 0);
    expect(reason(() => r.register('xyz', 'c', 1000))).toBe('bad-code-hash');
    expect(reason(() => r.register(H(2), 'c', 0))).toBe('bad-expiry');
    expect(reason(() => r.register(H(2), 'c', MAX_ENROLMENT_MS + 1))).toBe('bad-expiry');
    expect(reason(() => r.register(H(2), 'c', Number.NaN))).toBe('bad-expiry');
    r.register(H(2), 'c', 1000);
    expect(reason(() => r.register(H(2), 'd', 1000))).toBe('duplicate');
    for (let i = 1; i < MAX_ENROLMENTS_PER_CLINIC; i++) r.register(H(100 + i), 'c', 1000);
    expect(reason(() => r.register(H(99), 'c', 1000))).toBe('too-many');
    expect(reason(() => r.register(H(99), 'other', 1000))).toBe('ok');
  });

  it('names the topic of an enrolment and reads it back', () => {
    expect(codeHashOfTopic(enrolTopic(H(3)))).toBe(H(3));
    expect(codeHashOfTopic('hygeia/enrol/v1/XYZ')).toBeNull();
    expect(codeHashOfTopic('hygeia/patients/v1')).toBeNull();
  });
});
