/// <reference types="fhir" />
// Whose record is this? Every resource that is about a patient must be filed under that patient, so that
// erasing the patient removes it (issue 10, finding 7). A resource belongs to a patient when it names the
// patient in any reference, however written:
//   - literally, relative or absolute, versioned or not: `Patient/p1`, `https://ehr.example/fhir/Patient/p1`,
//     `Patient/p1/_history/3` (bundle `urn:uuid:` full URLs are rewritten to `Patient/p1` before this);
//   - logically, by business identifier: `{ type: 'Patient', identifier: { system, value } }` (or an
//     identifier in `subject`, `patient` or `beneficiary`), resolved against the bundle and the store;
//   - indirectly, through another resource that is the patient's: a Provenance whose target is the patient's
//     Encounter, a resource that only names an Encounter, a DiagnosticReport's `result`, …
// A resource that names two different patients is refused: it could not be erased with either alone.
// Everything else (Organization, Practitioner, Location, Medication, …) is shared.
import { isObject, parseLiteral } from './bundle.ts';

/** Fields whose identifier-only reference points at a patient even without `type`. */
const PATIENT_FIELDS = new Set(['subject', 'patient', 'beneficiary']);

export interface LogicalPatientRef {
  readonly system: string | undefined;
  readonly value: string;
}

export interface ReferenceScan {
  /** Patient ids named literally. */
  readonly patients: Set<string>;
  /** Patients named only by business identifier. */
  readonly logical: LogicalPatientRef[];
  /** Every other literal reference, as `Type/id`, with whether it was written as an absolute URL. */
  readonly others: { key: string; absolute: boolean }[];
  /** Local `#id` references to contained resources. */
  readonly contained: string[];
}

/** Walks a resource (contained resources included) and sorts out what its references name. */
export function scanReferences(resource: fhir4.Resource): ReferenceScan {
  const scan: ReferenceScan = { patients: new Set(), logical: [], others: [], contained: [] };
  walk(resource, '', scan, true);
  return scan;
}

function walk(node: unknown, field: string, scan: ReferenceScan, root: boolean): void {
  if (Array.isArray(node)) {
    for (const x of node) walk(x, field, scan, false);
    return;
  }
  if (!isObject(node)) return;
  const ref = node.reference;
  if (typeof ref === 'string') {
    if (ref.startsWith('#')) scan.contained.push(ref.slice(1));
    else {
      const lit = parseLiteral(ref);
      if (lit !== null) {
        if (lit.type === 'Patient') scan.patients.add(lit.id);
        else scan.others.push({ key: `${lit.type}/${lit.id}`, absolute: lit.absolute });
      }
    }
  } else if (!root && isObject(node.identifier) && typeof node.identifier.value === 'string') {
    // A Reference carrying only a business identifier (an Identifier alone has no `identifier` member).
    const t = node.type;
    if (t === 'Patient' || (t === undefined && PATIENT_FIELDS.has(field))) {
      scan.logical.push({ system: typeof node.identifier.system === 'string' ? node.identifier.system : undefined, value: node.identifier.value });
    }
  }
  for (const [k, v] of Object.entries(node)) {
    if (k === 'reference' || typeof v !== 'object' || v === null) continue;
    walk(v, k, scan, false);
  }
}

/** Where a resource is filed: a patient's id, the shared owner, or a reason it cannot be filed. */
export type Attribution = { readonly patient: string } | { readonly shared: true } | { readonly reject: string };

/**
 * Files a set of resources: `direct` holds each resource's own scan; `ownerOfStored` answers, for a
 * `Type/id` outside the set, the patient it is filed under in the store ('shared' if shared, undefined if
 * absent); `resolveLogical` turns a logical patient reference into a patient id (or undefined).
 */
export function attribute(
  resources: readonly (fhir4.Resource & { id: string })[],
  scans: readonly ReferenceScan[],
  resolveLogical: (r: LogicalPatientRef) => string | undefined,
  ownerOfStored: (key: string) => string | 'shared' | undefined,
): Attribution[] {
  const out: (Attribution | undefined)[] = new Array(resources.length);
  const indexOf = new Map<string, number>();
  resources.forEach((r, i) => indexOf.set(`${r.resourceType}/${r.id}`, i));

  // 1. The patient itself, and resources that name a patient.
  resources.forEach((r, i) => {
    if (r.resourceType === 'Patient') return void (out[i] = { patient: r.id });
    const s = scans[i]!;
    const named = new Set(s.patients);
    for (const l of s.logical) {
      const id = resolveLogical(l);
      if (id === undefined) return void (out[i] = { reject: 'the resource names a patient by an identifier this clinic does not hold' });
      named.add(id);
    }
    if (named.size > 1) out[i] = { reject: 'the resource names more than one patient' };
    else if (named.size === 1) out[i] = { patient: [...named][0]! };
  });

  // 2. Through other resources, to a fixpoint (a Provenance of an Observation of an Encounter …).
  for (let changed = true; changed;) {
    changed = false;
    resources.forEach((_r, i) => {
      if (out[i] !== undefined) return;
      const owners = new Set<string>();
      let waiting = false;
      for (const o of scans[i]!.others) {
        const j = indexOf.get(o.key);
        if (j !== undefined) {
          const a = out[j];
          if (a === undefined) waiting = true;
          else if ('patient' in a) owners.add(a.patient);
        } else {
          const stored = ownerOfStored(o.key);
          if (stored !== undefined && stored !== 'shared') owners.add(stored);
        }
      }
      if (owners.size > 1) {
        out[i] = { reject: 'the resource names more than one patient' };
        changed = true;
      } else if (owners.size === 1) {
        out[i] = { patient: [...owners][0]! };
        changed = true;
      } else if (!waiting) {
        out[i] = { shared: true };
        changed = true;
      }
    });
  }
  // What is left only refers to itself in a cycle of unattributed resources: nothing names a patient.
  return out.map((a) => a ?? { shared: true });
}
