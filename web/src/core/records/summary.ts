/// <reference types="fhir" />
// What the patient list shows and searches: each patient's demographics and resource counts, kept sealed
// under that patient's own data key in the owners row and decrypted on the tablet only. There is no index
// of names, birth dates or identifiers in the database: a search decrypts the summaries (cached in memory
// while the store is open) and matches here.

/** The sealed summary of one owner. */
export interface OwnerSummary {
  readonly kind: 'patient' | 'shared';
  /** The patient's id (absent for the shared owner). */
  readonly id?: string;
  readonly name: string;
  /** Every part of every name, for search. */
  readonly names: string[];
  readonly birthDate: string | null;
  readonly gender: string | null;
  readonly identifiers: { system: string; value: string }[];
  readonly counts: Record<string, number>;
}

export function emptySummary(patientId: string | null): OwnerSummary {
  return patientId === null
    ? { kind: 'shared', name: '', names: [], birthDate: null, gender: null, identifiers: [], counts: {} }
    : { kind: 'patient', id: patientId, name: '', names: [], birthDate: null, gender: null, identifiers: [], counts: {} };
}

/** A display name: the official (else first) name's prefix, given names and family, or its text. */
export function displayName(p: fhir4.Patient): string {
  const names = p.name ?? [];
  const n = names.find((x) => x.use === 'official') ?? names.find((x) => x.use !== 'old') ?? names[0];
  if (n === undefined) return '';
  const parts = [...(n.prefix ?? []), ...(n.given ?? []), n.family ?? '', ...(n.suffix ?? [])].filter((s) => typeof s === 'string' && s !== '');
  return parts.length > 0 ? parts.join(' ') : (n.text ?? '');
}

/** Every name part a search may match: given, family, prefix, suffix and text of every name. */
function nameParts(p: fhir4.Patient): string[] {
  const out: string[] = [];
  for (const n of p.name ?? []) {
    out.push(...(n.given ?? []), ...(n.prefix ?? []), ...(n.suffix ?? []));
    if (n.family) out.push(n.family);
    if (n.text) out.push(n.text);
  }
  return out.filter((s) => typeof s === 'string');
}

/** The summary after a Patient resource (its latest version) was written. */
export function withPatient(s: OwnerSummary, p: fhir4.Patient): OwnerSummary {
  return {
    ...s,
    name: displayName(p),
    names: [...new Set(nameParts(p))],
    birthDate: typeof p.birthDate === 'string' ? p.birthDate : null,
    gender: typeof p.gender === 'string' ? p.gender : null,
    identifiers: (p.identifier ?? []).filter((i) => typeof i.value === 'string').map((i) => ({ system: i.system ?? '', value: i.value! })),
  };
}

export function withCounts(s: OwnerSummary, added: ReadonlyMap<string, number>): OwnerSummary {
  if (added.size === 0) return s;
  const counts = { ...s.counts };
  for (const [t, n] of added) counts[t] = (counts[t] ?? 0) + n;
  return { ...s, counts };
}

const BIRTH = /^\d{4}(-\d{2}(-\d{2})?)?$/;

/** Lower case, accents folded: "Zoë" matches "zoe". */
function fold(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
}

/**
 * Whether a patient matches a query: every whitespace-separated term must match a part of a name
 * (substring), the birth date (a YYYY, YYYY-MM or YYYY-MM-DD prefix), or an identifier value (exactly, or
 * as a substring for terms of three or more characters).
 */
export function matches(s: OwnerSummary, text: string): boolean {
  const terms = fold(text)
    .split(/[\s,]+/)
    .filter((t) => t !== '');
  if (terms.length === 0) return true;
  const names = [s.name, ...s.names].map(fold);
  const idents = s.identifiers.map((i) => fold(i.value));
  return terms.every(
    (t) =>
      (BIRTH.test(t) && s.birthDate !== null && s.birthDate.startsWith(t)) || names.some((n) => n.includes(t)) || idents.some((v) => v === t || (t.length >= 3 && v.includes(t))),
  );
}

export function byName(a: OwnerSummary, b: OwnerSummary): number {
  return a.name.localeCompare(b.name) || (a.id ?? '').localeCompare(b.id ?? '');
}
