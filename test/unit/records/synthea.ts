// The Synthea bundles every records test imports, and the strings in each that identify its patient.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { RecordStore } from '../../../web/src/core/records/index.ts';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
export const syntheaDir = path.resolve(repoRoot, '../shared/data/synthea');
export const syntheaFiles = readdirSync(syntheaDir)
  .filter((f) => f.endsWith('.json'))
  .sort();

export interface SyntheaBundle {
  resourceType: 'Bundle';
  type: string;
  entry: { fullUrl?: string; resource: { resourceType: string; id: string; [k: string]: unknown }; request?: unknown }[];
}

export function loadSynthea(file: string): SyntheaBundle {
  return JSON.parse(readFileSync(path.join(syntheaDir, file), 'utf8')) as SyntheaBundle;
}

/** The i-th bundle by file name. */
export function syntheaBundle(i: number): SyntheaBundle {
  return loadSynthea(syntheaFiles[i]!);
}

/** Every bundle, by file name. */
export function syntheaBundles(): SyntheaBundle[] {
  return syntheaFiles.map(loadSynthea);
}

/** The patient's own strings: id, names, birth date, identifiers, telecom and address lines (4+ characters). */
export function sensitiveStrings(bundle: SyntheaBundle): string[] {
  const p = bundle.entry.find((e) => e.resource.resourceType === 'Patient')!.resource as fhir4.Patient;
  const out = new Set<string | undefined>([p.id, p.birthDate]);
  for (const n of p.name ?? []) {
    for (const g of n.given ?? []) out.add(g);
    out.add(n.family);
  }
  for (const i of p.identifier ?? []) out.add(i.value);
  for (const t of p.telecom ?? []) out.add(t.value);
  for (const a of p.address ?? []) for (const l of a.line ?? []) out.add(l);
  return [...out].filter((s): s is string => typeof s === 'string' && s.length >= 4);
}

export function patientIdOf(bundle: SyntheaBundle): string {
  return bundle.entry.find((e) => e.resource.resourceType === 'Patient')!.resource.id;
}

let stores = 0;
/** A database name no other store of this test file has: `records-<label>-<n>`. */
export const freshStoreName = (label: string): string => `records-${label}-${++stores}`;

/** A new store under `key` holding Synthea bundle number `file` (of syntheaFiles), and its database name. */
export async function storeWithSynthea(key: Uint8Array, file: number, label: string): Promise<{ name: string; store: RecordStore; bundle: SyntheaBundle }> {
  const name = freshStoreName(label);
  const store = await RecordStore.open(name, key);
  const bundle = loadSynthea(syntheaFiles[file]!);
  await store.importBundle(bundle);
  return { name, store, bundle };
}
