// A decoder error crosses the wasm boundary as a number: the AssemblyScript codec's CodecError enum and the
// TypeScript codec's CODEC_ERROR_CODES must give each name the same number (0 is "no error" in AssemblyScript).
import { describe, expect, it } from 'vitest';
import { CODEC_ERROR_CODES, codecErrorFromNumber } from '../../../web/src/core/codec/index.ts';
import { assemblyEnums } from '../shared/assembly-enums.ts';

describe('codec error codes across the wasm boundary', () => {
  const { CodecError } = assemblyEnums('wasm/assembly/codec/errors.ts');

  it('are the same names with the same numbers in AssemblyScript and TypeScript', () => {
    const { None, ...errors } = CodecError!;
    expect(None).toBe(0);
    expect(errors).toEqual({ ...CODEC_ERROR_CODES });
  });

  it('map every AssemblyScript number back to its name', () => {
    for (const [name, n] of Object.entries(CodecError!)) expect(codecErrorFromNumber(n)).toBe(n === 0 ? null : name);
  });
});
