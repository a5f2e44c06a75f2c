// Small hand-made FHIR resources and bundles for the records tests (whole patients come from synthea.ts).

/** A bundle of `type` holding `entry` as given. */
export function bundleOf(type: 'batch' | 'transaction', entry: unknown[]): { resourceType: 'Bundle'; type: string; entry: unknown[] } {
  return { resourceType: 'Bundle', type, entry };
}

/** Bundle entries for resources with no fullUrl and no request. */
export const entriesOf = (...resources: object[]): { resource: object }[] => resources.map((resource) => ({ resource }));

/** A final Observation (code "x") of `subject`: a literal reference, or a reference object as given; `more` is added or overrides. */
export function observation(id: string, subject: string | fhir4.Reference, more: object = {}): fhir4.Observation {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { text: 'x' },
    subject: typeof subject === 'string' ? { reference: subject } : subject,
    ...more,
  } as fhir4.Observation;
}

/** A finished ambulatory Encounter of the patient `subject` refers to; `more` is added or overrides. */
export function encounter(id: string, subject: string, more: object = {}): fhir4.Encounter {
  return { resourceType: 'Encounter', id, status: 'finished', class: { code: 'AMB' }, subject: { reference: subject }, ...more } as fhir4.Encounter;
}
