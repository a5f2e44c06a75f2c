// Reads the `export enum Name { A = 1, ... }` declarations of an AssemblyScript file, so a test can hold them
// equal to their TypeScript twins (the numbers that cross the wasm boundary are written once per language).
import { readFileSync } from 'node:fs';

/** The enums of an AssemblyScript source file (path from the repository root), as name -> (member -> value). */
export function assemblyEnums(pathFromRoot: string): Record<string, Record<string, number>> {
  const source = readFileSync(new URL(`../../../${pathFromRoot}`, import.meta.url), 'utf8');
  const out: Record<string, Record<string, number>> = {};
  for (const m of source.matchAll(/export enum (\w+) \{([^}]*)\}/g)) {
    const members: Record<string, number> = {};
    for (const line of m[2]!.split('\n')) {
      const member = /^\s*(\w+)\s*=\s*(\d+),/.exec(line);
      if (member) members[member[1]!] = Number(member[2]);
    }
    out[m[1]!] = members;
  }
  return out;
}
