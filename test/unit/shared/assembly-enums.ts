// The numbers that cross the wasm boundary are written once, in the tables of wasm/gen/boundary.json, and
// wasm/gen/all.mjs writes them out twice: an AssemblyScript file the wasm core compiles, and its TypeScript
// twin. These helpers let a test hold a pair to the tables (the files are fresh) and to each other (the two
// emitters agree), by reading the AssemblyScript enums back from the source.
import { readFileSync } from 'node:fs';
import boundary from '../../../wasm/gen/boundary.mjs';

const read = (pathFromRoot: string): string => readFileSync(new URL(`../../../${pathFromRoot}`, import.meta.url), 'utf8');

/** A generated file as it is on disk, and as the tables make it now (they differ until `node wasm/gen/all.mjs` runs). */
export function generated(pathFromRoot: string): { onDisk: string; fromTables: string } {
  const fromTables = boundary()[pathFromRoot];
  if (fromTables === undefined) throw new Error(`${pathFromRoot} is not made by wasm/gen/boundary.mjs`);
  return { onDisk: read(pathFromRoot), fromTables };
}

/** The enums of an AssemblyScript source file (path from the repository root), as name -> (member -> value). */
export function assemblyEnums(pathFromRoot: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const m of read(pathFromRoot).matchAll(/export (?:const )?enum (\w+) \{([^}]*)\}/g)) {
    const members: Record<string, number> = {};
    for (const line of m[2]!.split('\n')) {
      const member = /^\s*(\w+)\s*=\s*(\d+),/.exec(line);
      if (member) members[member[1]!] = Number(member[2]);
    }
    out[m[1]!] = members;
  }
  return out;
}
