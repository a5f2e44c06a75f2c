// A decoder error crosses the wasm boundary as a number. The codes are written once, in the tables of
// wasm/gen/boundary.json, and generated into the AssemblyScript codec's CodecError enum and the TypeScript
// codec's CODEC_ERROR_CODES (0 is "no error" in AssemblyScript only); the vectors run both codecs on them. So are
// the ops of the type programs the tests compile for the AssemblyScript codec's generic decoder.
import { describe, expect, it } from 'vitest';
import { Op } from '../../../wasm/face/codec-program-ops.ts';
import { CODEC_ERROR_CODES, codecErrorFromNumber } from '../../../web/src/core/codec/index.ts';
import { assemblyEnums, generated } from '../shared/assembly-enums.ts';

const ASSEMBLY = 'wasm/assembly/codec/errors.ts';

describe('codec error codes across the wasm boundary', () => {
  for (const path of [ASSEMBLY, 'web/src/core/codec/error-codes.ts']) {
    it(`${path} is what the tables make now (else run node wasm/gen/all.mjs)`, () => {
      const { onDisk, fromTables } = generated(path);
      expect(onDisk).toBe(fromTables);
    });
  }

  const { CodecError } = assemblyEnums(ASSEMBLY);

  it('are the same names with the same numbers in AssemblyScript and TypeScript', () => {
    const { None, ...errors } = CodecError!;
    expect(None).toBe(0);
    expect(errors).toEqual({ ...CODEC_ERROR_CODES });
  });

  it('map every AssemblyScript number back to its name', () => {
    for (const [name, n] of Object.entries(CodecError!)) expect(codecErrorFromNumber(n)).toBe(n === 0 ? null : name);
  });
});

describe('type program ops across the wasm boundary', () => {
  const ASSEMBLY_OPS = 'wasm/assembly/codec/program-ops.ts';

  for (const path of [ASSEMBLY_OPS, 'wasm/face/codec-program-ops.ts']) {
    it(`${path} is what the tables make now (else run node wasm/gen/all.mjs)`, () => {
      const { onDisk, fromTables } = generated(path);
      expect(onDisk).toBe(fromTables);
    });
  }

  it('are the same names with the same numbers in AssemblyScript and TypeScript', () => {
    expect(assemblyEnums(ASSEMBLY_OPS)).toEqual({ Op: { ...Op } });
  });
});
