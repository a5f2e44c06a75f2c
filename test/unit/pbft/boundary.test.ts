// The numbers that cross the wasm boundary are named twice, once per language: wasm/assembly/pbft/boundary.ts
// and wasm/face/replica-boundary.ts. They must agree name for name and value for value.
import { describe, expect, it } from 'vitest';
import * as face from '../../../wasm/face/replica-boundary.ts';
import { assemblyEnums } from '../shared/assembly-enums.ts';

describe('the replica boundary', () => {
  const assembly = assemblyEnums('wasm/assembly/pbft/boundary.ts');

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
