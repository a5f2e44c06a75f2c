// How the screens write times, purposes, resource types and FHIR values for people.

const dateFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export const formatDate = (t: number | string | undefined | null): string => {
  if (t === undefined || t === null || t === '') return '—';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : dateFmt.format(d);
};
export const formatDateTime = (t: number | string | undefined | null): string => {
  if (t === undefined || t === null || t === '') return '—';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : dateTimeFmt.format(d);
};
export const formatTime = (t: number): string => timeFmt.format(new Date(t));

/** Whole years between a FHIR birth date and now. */
export function ageOf(birthDate: string | null | undefined, now = Date.now()): number | null {
  if (!birthDate) return null;
  const b = new Date(birthDate);
  if (Number.isNaN(b.getTime())) return null;
  const n = new Date(now);
  let age = n.getUTCFullYear() - b.getUTCFullYear();
  if (n.getUTCMonth() < b.getUTCMonth() || (n.getUTCMonth() === b.getUTCMonth() && n.getUTCDate() < b.getUTCDate())) age--;
  return age;
}

/** HL7 PurposeOfUse codes the screens offer, with what they mean to a patient. */
export const PURPOSES: readonly { code: string; label: string; plain: string }[] = [
  { code: 'TREAT', label: 'Treatment', plain: 'to treat you' },
  { code: 'ETREAT', label: 'Emergency treatment', plain: 'to treat you in an emergency' },
  { code: 'HPAYMT', label: 'Payment', plain: 'to arrange payment for your care' },
  { code: 'HOPERAT', label: 'Operations', plain: 'to run the clinic' },
  { code: 'HRESCH', label: 'Research', plain: 'for health research' },
  { code: 'PUBHLTH', label: 'Public health', plain: 'for public health' },
];
export const purposeLabel = (code: string): string => PURPOSES.find((p) => p.code === code)?.label ?? code;
/** What a purpose means, for the patient ("to treat you") or for someone a guardian acts for ("to treat Ana"). */
export const purposePlain = (code: string, person?: string): string => {
  const plain = PURPOSES.find((p) => p.code === code)?.plain ?? `for ${code}`;
  return person ? plain.replace(/\b(you|your)\b/g, (w) => (w === 'you' ? person : `${person}’s`)) : plain;
};

/** FHIR resource types a consent or an access request may name, with plain names, in the order screens offer them. */
const RESOURCE_TYPE_LABELS: ReadonlyMap<string, string> = new Map([
  ['Patient', 'Personal details'],
  ['Condition', 'Conditions'],
  ['Observation', 'Test results and vital signs'],
  ['MedicationRequest', 'Medications'],
  ['Encounter', 'Visits'],
  ['Immunization', 'Immunizations'],
  ['Procedure', 'Procedures'],
  ['DiagnosticReport', 'Reports'],
  ['AllergyIntolerance', 'Allergies'],
  ['CarePlan', 'Care plans'],
]);
export const RESOURCE_TYPES: readonly string[] = [...RESOURCE_TYPE_LABELS.keys()];
export const typeLabel = (t: string): string => RESOURCE_TYPE_LABELS.get(t) ?? t;
export const typeList = (ts: readonly string[]): string => (ts.length === 0 ? 'nothing' : ts.map(typeLabel).join(', '));

export const shortHex = (hex: string, n = 12): string => (hex.length > n ? `${hex.slice(0, n)}…` : hex);

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

// ---- FHIR display --------------------------------------------------------------------------------------

export function conceptText(c: fhir4.CodeableConcept | undefined): string {
  if (!c) return '—';
  return c.text ?? c.coding?.find((x) => x.display)?.display ?? c.coding?.[0]?.code ?? '—';
}

export function humanName(p: fhir4.Patient): string {
  const n = p.name?.find((x) => x.use === 'official') ?? p.name?.[0];
  if (!n) return 'Unnamed patient';
  if (n.text) return n.text;
  return [...(n.prefix ?? []), ...(n.given ?? []), n.family ?? ''].join(' ').trim() || 'Unnamed patient';
}

function quantityText(q: fhir4.Quantity | undefined): string {
  if (!q || q.value === undefined) return '—';
  const v = Number.isInteger(q.value) ? String(q.value) : q.value.toFixed(1);
  return q.unit ? `${v} ${q.unit}` : v;
}

export function observationValue(o: fhir4.Observation): string {
  if (o.valueQuantity) return quantityText(o.valueQuantity);
  if (o.valueCodeableConcept) return conceptText(o.valueCodeableConcept);
  if (o.valueString !== undefined) return o.valueString;
  if (o.component?.length) return o.component.map((c) => quantityText(c.valueQuantity)).join(' / ');
  if (o.dataAbsentReason) return `not recorded (${conceptText(o.dataAbsentReason)})`;
  return '—';
}

/** When a resource happened, as an ISO string, for the timeline. */
export function resourceTime(r: fhir4.Resource): string | undefined {
  const x = r as unknown as Record<string, unknown>;
  for (const k of ['effectiveDateTime', 'onsetDateTime', 'authoredOn', 'recordedDate', 'occurrenceDateTime', 'issued', 'date']) {
    if (typeof x[k] === 'string') return x[k] as string;
  }
  const period = (x.period ?? x.effectivePeriod) as fhir4.Period | undefined;
  return period?.start;
}

export function resourceTitle(r: fhir4.Resource): string {
  const x = r as unknown as Record<string, unknown>;
  switch (r.resourceType) {
    case 'Patient':
      return humanName(r as fhir4.Patient);
    case 'Encounter': {
      const e = r as fhir4.Encounter;
      return e.type?.[0] ? conceptText(e.type[0]) : `${e.class?.display ?? e.class?.code ?? ''} visit`.trim();
    }
    case 'MedicationRequest':
    case 'MedicationStatement':
      return conceptText(x.medicationCodeableConcept as fhir4.CodeableConcept | undefined);
    case 'Immunization':
      return conceptText((r as fhir4.Immunization).vaccineCode);
    default:
      return conceptText(x.code as fhir4.CodeableConcept | undefined);
  }
}
