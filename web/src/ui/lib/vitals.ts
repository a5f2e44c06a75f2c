// Vital signs out of a chart's Observations, as series the charts draw: one per LOINC code (blood pressure
// split into its systolic and diastolic components), in time order, values in the unit they were recorded in.

export interface VitalSeries {
  readonly code: string;
  readonly title: string;
  readonly unit: string;
  readonly lines: { readonly label: string; readonly code: string }[];
  readonly x: number[];
  readonly y: (number | null)[][];
}

const LOINC = 'http://loinc.org';
const BLOOD_PRESSURE = '85354-9';
const SYSTOLIC = '8480-6';
const DIASTOLIC = '8462-4';

/** LOINC codes shown as charts, in this order, with their plain names. */
const VITAL_TITLES: ReadonlyMap<string, string> = new Map([
  ['8867-4', 'Heart rate'],
  [BLOOD_PRESSURE, 'Blood pressure'],
  ['9279-1', 'Respiratory rate'],
  ['2708-6', 'Oxygen saturation'],
  ['59408-5', 'Oxygen saturation (pulse oximetry)'],
  ['8310-5', 'Body temperature'],
  ['29463-7', 'Body weight'],
  ['8302-2', 'Body height'],
  ['39156-5', 'Body mass index'],
]);

const loincOf = (c: fhir4.CodeableConcept | undefined): string | undefined => c?.coding?.find((x) => x.system === LOINC)?.code;
const timeOf = (o: fhir4.Observation): number => Date.parse(o.effectiveDateTime ?? o.effectivePeriod?.start ?? o.issued ?? '');

export function vitalSeries(observations: readonly fhir4.Observation[]): VitalSeries[] {
  const byCode = new Map<string, fhir4.Observation[]>();
  for (const o of observations) {
    const code = loincOf(o.code);
    if (!code || !VITAL_TITLES.has(code) || !Number.isFinite(timeOf(o))) continue;
    let list = byCode.get(code);
    if (!list) byCode.set(code, (list = []));
    list.push(o);
  }
  const out: VitalSeries[] = [];
  for (const [code, title] of VITAL_TITLES) {
    const list = byCode.get(code)?.sort((a, b) => timeOf(a) - timeOf(b));
    if (!list?.length) continue;
    if (code === BLOOD_PRESSURE) {
      const part = (o: fhir4.Observation, c: string) => o.component?.find((k) => loincOf(k.code) === c)?.valueQuantity?.value ?? null;
      const first = list[0]!.component?.[0]?.valueQuantity?.unit ?? 'mm[Hg]';
      out.push({
        code,
        title,
        unit: first,
        lines: [
          { label: 'Systolic', code: SYSTOLIC },
          { label: 'Diastolic', code: DIASTOLIC },
        ],
        x: list.map(timeOf),
        y: [list.map((o) => part(o, SYSTOLIC)), list.map((o) => part(o, DIASTOLIC))],
      });
      continue;
    }
    const withValue = list.filter((o) => typeof o.valueQuantity?.value === 'number');
    if (withValue.length === 0) continue;
    out.push({
      code,
      title,
      unit: withValue[0]!.valueQuantity!.unit ?? '',
      lines: [{ label: title, code }],
      x: withValue.map(timeOf),
      y: [withValue.map((o) => o.valueQuantity!.value!)],
    });
  }
  return out;
}
