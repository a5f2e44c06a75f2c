// SHA-256 and SHA-512 throughput: Hygeia's wasm core beside hash-wasm, @noble/hashes, @chainsafe/as-sha256
// and node:crypto (the native ceiling), same inputs, same process. An independent measurement times SHA-256
// of 1 KiB for each library alone in its own process (this file, run with --independent) and the JSON says
// whether its ratios agree with the in-process ones. Both are timed the same way: rounds in turns, best kept.
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { digest as asSha256 } from '@chainsafe/as-sha256';
import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import { createSHA256, createSHA512 } from 'hash-wasm';
import { coreModuleSize, initCore, sha256, sha512 } from '../../../wasm/index.ts';
import { Prng } from '../../../web/src/core/util/index.ts';
import { measureCpu as measure, measureInTurns, ratio, serveTurns, target, type BenchSection, type Row } from '../harness.ts';

type HashFn = (data: Uint8Array) => unknown;

const SIZES: [string, number][] = [
  ['64 B', 64],
  ['1 KiB', 1024],
  ['64 KiB', 65536],
  ['1 MiB', 1 << 20],
];

const INDEPENDENT_LIBS = ['hygeia', 'hash-wasm', '@noble/hashes'] as const;
type IndependentLib = (typeof INDEPENDENT_LIBS)[number];

/** SHA-256 of `input` with one library, loading only that library. */
async function sha256Of(lib: IndependentLib): Promise<HashFn> {
  if (lib === 'hygeia') {
    await initCore();
    return (d) => sha256(d);
  }
  if (lib === 'hash-wasm') {
    const h = await createSHA256();
    return (d) => h.init().update(d).digest('binary');
  }
  return (d) => nobleSha256(d);
}

const SELF = fileURLToPath(import.meta.url);

const section: BenchSection = {
  name: 'hash',
  async run(ctx) {
    await initCore();
    const hw256 = await createSHA256();
    const hw512 = await createSHA512();
    const libs: Record<'sha256' | 'sha512', Record<string, HashFn>> = {
      sha256: {
        hygeia: (d) => sha256(d),
        'hash-wasm': (d) => hw256.init().update(d).digest('binary'),
        '@noble/hashes': (d) => nobleSha256(d),
        '@chainsafe/as-sha256': (d) => asSha256(d),
        'node:crypto': (d) => createHash('sha256').update(d).digest(),
      },
      sha512: {
        hygeia: (d) => sha512(d),
        'hash-wasm': (d) => hw512.init().update(d).digest('binary'),
        '@noble/hashes': (d) => nobleSha512(d),
        'node:crypto': (d) => createHash('sha512').update(d).digest(),
      },
    };
    const rng = new Prng(1);
    const rows: Row[] = [];
    const data: Record<string, unknown> = { moduleBytes: coreModuleSize() };
    for (const alg of ['sha256', 'sha512'] as const) {
      for (const [label, size] of SIZES) {
        const input = rng.bytes(size);
        // Libraries take turns over several rounds and each keeps its best round: on a shared machine a
        // burst of load from elsewhere then hurts one round, not one library.
        const rounds = ctx.quick ? 1 : 5;
        const best: Record<string, number> = {};
        const batch = Math.max(1, Math.floor(65536 / size));
        for (let round = 0; round < rounds; round++) {
          for (const [lib, fn] of Object.entries(libs[alg])) {
            const m = await measure(
              () => {
                for (let i = 0; i < batch; i++) fn(input);
              },
              { minMs: ctx.quick ? 150 : 200, batch },
            );
            best[lib] = Math.max(best[lib] ?? 0, (m.opsPerSec * size) / 1e6);
          }
        }
        const mbps: Record<string, number> = {};
        for (const [lib, v] of Object.entries(best)) {
          mbps[lib] = Math.round(v * 10) / 10;
          ctx.log(`${alg} ${label} ${lib}: ${mbps[lib]} MB/s (best of ${rounds})`);
        }
        const ours = mbps.hygeia as number;
        const row: Row = { alg, size: label };
        for (const [lib, v] of Object.entries(mbps)) row[`${lib} MB/s`] = v;
        for (const lib of Object.keys(mbps)) if (lib !== 'hygeia') row[`x ${lib}`] = ratio(ours, mbps[lib] as number);
        rows.push(row);
        data[`${alg} ${label}`] = {
          mbps,
          ratios: Object.fromEntries(
            Object.keys(mbps)
              .filter((l) => l !== 'hygeia')
              .map((l) => [l, ratio(ours, mbps[l] as number)]),
          ),
        };
      }
    }
    const k = data['sha256 1 KiB'] as { ratios: Record<string, number> };
    const vsHashWasm = k.ratios['hash-wasm'] ?? 0;
    const vsNoble = k.ratios['@noble/hashes'] ?? 0;
    const targets = [target('sha256 1 KiB vs hash-wasm', vsHashWasm, '>=', 0.9, 'x'), target('sha256 1 KiB vs @noble/hashes', vsNoble, '>=', 2, 'x')];

    // Independent measurement: each library alone in its own process, the processes taking turns over the same
    // rounds as above (measureInTurns), each library's best round kept.
    const indRounds = ctx.quick ? 1 : 5;
    const indMs = ctx.quick ? 150 : 200;
    const perSec = await measureInTurns(SELF, INDEPENDENT_LIBS, [String(indMs)], indRounds);
    const alone = Object.fromEntries(Object.entries(perSec).map(([lib, v]) => [lib, (v * 1024) / 1e6]));
    const agreement: Record<string, unknown> = {};
    for (const lib of INDEPENDENT_LIBS.slice(1)) {
      const inProcess = k.ratios[lib] ?? 0;
      const separate = ratio(alone.hygeia as number, alone[lib] as number);
      const agree = Math.abs(Math.log(inProcess / separate)) <= Math.log(1.15);
      agreement[`sha256 1 KiB vs ${lib}`] = { inProcess, separateProcesses: separate, agreeWithin15Percent: agree };
      rows.push({ alg: 'sha256', size: '1 KiB (separate processes)', [`x ${lib}`]: separate, 'in-process': inProcess, agree: agree ? 'yes' : 'NO' });
    }
    data.independent = {
      method: `SHA-256 of 1 KiB, each library timed alone in its own Node process (this file with --independent), after one warm-up round: the processes take turns over ${indRounds} rounds of ${indMs} ms CPU time, as the in-process libraries do, and each keeps its best`,
      mbps: Object.fromEntries(Object.entries(alone).map(([l, v]) => [l, Math.round(v * 10) / 10])),
      agreement,
    };
    rows.push({ alg: 'module', size: `${coreModuleSize()} bytes (release .wasm)` });
    return { rows, data, targets };
  },
};

export default section;

if (process.argv[1] === SELF && process.argv[2] === '--independent') {
  const fn = await sha256Of(process.argv[3] as IndependentLib);
  const input = new Prng(1).bytes(1024);
  const batch = 64;
  await serveTurns(
    () => {
      for (let i = 0; i < batch; i++) fn(input);
    },
    { minMs: Number(process.argv[4]), batch },
  );
}
