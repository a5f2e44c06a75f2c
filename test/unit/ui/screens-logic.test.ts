// The few pieces of the screens that compute rather than draw: vital-sign series out of Observations, errors
// in plain words (never a stack trace), and ages from FHIR birth dates.
import { describe, expect, it } from 'vitest';
import { NodeError } from '../../../web/src/core/node/api.ts';
import { plainError } from '../../../web/src/ui/lib/errors.ts';
import { ageOf, purposePlain } from '../../../web/src/ui/lib/format.ts';
import { vitalSeries } from '../../../web/src/ui/lib/vitals.ts';

const loinc = (code: string) => ({ coding: [{ system: 'http://loinc.org', code }] });
const hr = (t: string, v: number): fhir4.Observation => ({
  resourceType: 'Observation',
  status: 'final',
  code: loinc('8867-4'),
  effectiveDateTime: t,
  valueQuantity: { value: v, unit: '/min' },
});

describe('vitalSeries', () => {
  it('orders each vital sign by time and skips what is not one', () => {
    const s = vitalSeries([
      hr('2024-01-02T00:00:00Z', 80),
      hr('2024-01-01T00:00:00Z', 70),
      { resourceType: 'Observation', status: 'final', code: loinc('2339-0'), effectiveDateTime: '2024-01-01', valueQuantity: { value: 5 } },
    ]);
    expect(s).toHaveLength(1);
    expect(s[0]!.title).toBe('Heart rate');
    expect(s[0]!.y[0]).toEqual([70, 80]);
    expect(s[0]!.x).toEqual([Date.parse('2024-01-01T00:00:00Z'), Date.parse('2024-01-02T00:00:00Z')]);
  });

  it('splits blood pressure into systolic and diastolic lines', () => {
    const bp: fhir4.Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: loinc('85354-9'),
      effectiveDateTime: '2024-01-01T00:00:00Z',
      component: [
        { code: loinc('8480-6'), valueQuantity: { value: 120, unit: 'mm[Hg]' } },
        { code: loinc('8462-4'), valueQuantity: { value: 80, unit: 'mm[Hg]' } },
      ],
    };
    const [s] = vitalSeries([bp]);
    expect(s!.lines.map((l) => l.label)).toEqual(['Systolic', 'Diastolic']);
    expect(s!.y).toEqual([[120], [80]]);
  });

  it('leaves out readings without a time or a value', () => {
    expect(vitalSeries([{ ...hr('not a date', 70) }, { ...hr('2024-01-01', 70), valueQuantity: undefined }])).toEqual([]);
  });
});

describe('plainError', () => {
  it('shows a node error as the node worded it', () => {
    expect(plainError(new NodeError('wrong-passphrase', 'That passphrase is not right.'))).toBe('That passphrase is not right.');
  });

  it('turns a browser refusal into plain words', () => {
    expect(plainError(new DOMException('Permission denied', 'NotAllowedError'))).toMatch(/Permission was refused/);
  });

  it('keeps only the first line of anything else, bounded, never a stack', () => {
    const e = new Error(`boom\n    at secret (file.ts:1:1)\n${'x'.repeat(500)}`);
    const text = plainError(e);
    expect(text).toBe('That did not work: boom');
    expect(plainError(new Error('y'.repeat(1000))).length).toBeLessThan(240);
  });
});

describe('ageOf', () => {
  it('counts whole years, the day before and on the birthday', () => {
    expect(ageOf('2000-06-15', Date.parse('2024-06-14T12:00:00Z'))).toBe(23);
    expect(ageOf('2000-06-15', Date.parse('2024-06-15T12:00:00Z'))).toBe(24);
    expect(ageOf(null)).toBeNull();
    expect(ageOf('garbage')).toBeNull();
  });
});

describe('purposePlain', () => {
  it('speaks to the patient, or about the person a guardian acts for', () => {
    expect(purposePlain('TREAT')).toBe('to treat you');
    expect(purposePlain('HPAYMT', 'Ana')).toBe('to arrange payment for Ana’s care');
    expect(purposePlain('XYZ')).toBe('for XYZ');
  });
});
