// The numbers that cross the wasm boundary are named twice, once per language: wasm/assembly/pbft/boundary.ts
// and wasm/face/replica-boundary.ts. They must agree name for name and value for value.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as face from '../../../wasm/face/replica-boundary.ts';

/** The `export enum Name { A = 1, ... }` declarations of an AssemblyScript file, as name -> (member -> value). */
function enumsOf(source: string): Record<string, Record<string, number>> {
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

describe('the replica boundary', () => {
  const assembly = enumsOf(readFileSync(new URL('../../../wasm/assembly/pbft/boundary.ts', import.meta.url), 'utf8'));

  it('names the same tables on both sides', () => {
    expect(Object.keys(assembly).sort()).toEqual(Object.keys(face).sort());
  });

  for (const [name, table] of Object.entries(face)) {
    it(`${name}: every member has the same value in AssemblyScript and TypeScript`, () => {
      expect(assembly[name]).toEqual({ ...table });
      // Codes are distinct within a table (a decoder maps them back to one name).
      expect(new Set(Object.values(table)).size).toBe(Object.values(table).length);
    });
  }
});
