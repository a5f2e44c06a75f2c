// Emits wasm/assembly/sign/field-unrolled.ts: the unrolled radix-2^25.5 multiply, squarings and final reduction
// (fePack), and the limb-wise copy, sum, difference and negation as five i64x2 vectors, over raw pointers.
// Run by `npm run build:wasm` (wasm/gen/all.mjs); the output is not committed.
//
// Limbs are signed i64 (ten of them, alternately 26 and 25 bits, as in ref10). Inputs may have limbs up to
// about 2^27 in absolute value (sums of three reduced elements), which keeps every 10-term sum of products
// below 2^63. The squaring precomputes doubled and 19/38-fold limbs as ref10 does, so it needs 55 products
// instead of 100.

const range = (a, b) => Array.from({ length: b - a }, (_, i) => a + i);

function loadLines(name, ptr) {
  return range(0, 10).map((i) => `  const ${name}${i} = load<i64>(${ptr}, ${8 * i});`);
}

function mul() {
  const L = ['export function feMul(h: usize, f: usize, g: usize): void {'];
  L.push(...loadLines('f', 'f'), ...loadLines('g', 'g'));
  for (const j of range(1, 10)) L.push(`  const g${j}_19 = 19 * g${j};`);
  for (const i of [1, 3, 5, 7, 9]) L.push(`  const f${i}_2 = f${i} << 1;`);
  for (const k of range(0, 10)) {
    const terms = [];
    for (const i of range(0, 10)) {
      let j = k - i;
      const wrap = j < 0;
      if (wrap) j += 10;
      const fi = i % 2 === 1 && j % 2 === 1 ? `f${i}_2` : `f${i}`;
      const gj = wrap ? `g${j}_19` : `g${j}`;
      terms.push(`${fi} * ${gj}`);
    }
    L.push(`  let h${k} = ${terms.join(' + ')};`);
  }
  L.push(...carryLines(), '}');
  return L.join('\n');
}

/** ref10's fe_sq: 55 products over precomputed multiples. */
function squareTerms() {
  // Products f_i * f_j (i <= j) contribute to h_{(i+j) mod 10} with coefficient
  // (2 if i != j) * (2 if i, j both odd) * (19 if i + j >= 10).
  const out = range(0, 10).map(() => []);
  for (const i of range(0, 10)) {
    for (const j of range(i, 10)) {
      const coef = (i !== j ? 2 : 1) * (i % 2 === 1 && j % 2 === 1 ? 2 : 1) * (i + j >= 10 ? 19 : 1);
      out[(i + j) % 10].push([i, j, coef]);
    }
  }
  return out;
}

// Splits coef over the two factors using only the precomputed multiples:
// fX_2 = 2 f_X (X in 0..7), f5_38, f7_38, f9_38 = 38 f, f6_19, f8_19 = 19 f.
function operand(i, j, coef) {
  for (const a of [1, 2]) {
    for (const b of [1, 2, 19, 38]) {
      if (a * b !== coef || (a === 2 && i > 7)) continue;
      const left = a === 1 ? `f${i}` : `f${i}_2`;
      let right;
      if (b === 1) right = `f${j}`;
      else if (b === 2) right = j > 7 ? null : `f${j}_2`;
      else if (b === 19) right = [6, 8].includes(j) ? `f${j}_19` : null;
      else right = [5, 7, 9].includes(j) ? `f${j}_38` : null;
      if (right) return `${left} * ${right}`;
    }
  }
  throw new Error(`no operand split for f${i} f${j} * ${coef}`);
}

function sq(name, double) {
  const L = [`export function ${name}(h: usize, f: usize): void {`, ...loadLines('f', 'f')];
  for (const i of range(0, 8)) L.push(`  const f${i}_2 = f${i} << 1;`);
  L.push('  const f5_38 = 38 * f5;', '  const f6_19 = 19 * f6;', '  const f7_38 = 38 * f7;', '  const f8_19 = 19 * f8;', '  const f9_38 = 38 * f9;');
  const terms = squareTerms();
  for (const k of range(0, 10)) L.push(`  let h${k} = ${terms[k].map(([i, j, c]) => operand(i, j, c)).join(' + ')};`);
  if (double) for (const k of range(0, 10)) L.push(`  h${k} += h${k};`);
  L.push(...carryLines(), '}');
  return L.join('\n');
}

/** Limb i holds 26 bits when i is even, 25 when odd. */
const bitsOf = (i) => (i % 2 === 0 ? 26 : 25);

/** One carry from limb i into the next (limb 9 wraps into limb 0 times 19), rounded or floored. */
function carry(i, round = true) {
  const bits = bitsOf(i);
  const next = (i + 1) % 10;
  const from = round ? `(h${i} + ${2 ** (bits - 1)})` : `h${i}`;
  return `  { const c = ${from} >> ${bits}; h${next} += ${next === 0 ? 'c * 19' : 'c'}; h${i} -= c << ${bits}; }`;
}

function carryLines() {
  // ref10's interleaved order: two chains (from limbs 0 and 4) run side by side.
  const L = [0, 4, 1, 5, 2, 6, 3, 7, 4, 8, 9, 0].map((i) => carry(i));
  for (const i of range(0, 10)) L.push(`  store<i64>(h, h${i}, ${8 * i});`);
  return L;
}

/** A limb-wise operation on the ten limbs as five i64x2 vectors: o = expr(the loads at each offset). */
function lanes(signature, expr) {
  const at = (p, off) => (off === 0 ? `v128.load(${p})` : `v128.load(${p}, ${off})`);
  const L = [`export function ${signature}: void {`];
  for (const off of [0, 16, 32, 48, 64]) L.push(`  v128.store(o, ${expr((p) => at(p, off))}${off === 0 ? '' : `, ${off}`});`);
  L.push('}');
  return L.join('\n');
}

/** fePack: reduces fully modulo p and writes the 32-byte little-endian encoding. */
function pack() {
  const L = ['export function fePack(out: usize, f: usize): void {'];
  for (const i of range(0, 10)) L.push(`  let h${i} = load<i64>(f, ${8 * i});`);
  L.push('  // Bring limbs into range first, then compute q = floor(h / p) (0 or 1) and subtract q·p.');
  for (const i of [...range(0, 10), 0]) L.push(carry(i));
  L.push('  let q = (19 * h9 + 16777216) >> 25;');
  for (const i of range(0, 10)) L.push(`  q = (h${i} + q) >> ${bitsOf(i)};`);
  L.push('  h0 += 19 * q;');
  for (const i of range(0, 9)) L.push(carry(i, false));
  L.push('  { const c = h9 >> 25; h9 -= c << 25; }');
  L.push(
    '  // Limbs now sit at bit offsets 0, 26, 51, 77, 102 | 128, 153, 179, 204, 230: four 64-bit words.',
    '  store<u64>(out, (<u64>h0) | ((<u64>h1) << 26) | ((<u64>h2) << 51), 0);',
    '  store<u64>(out, ((<u64>h2) >> 13) | ((<u64>h3) << 13) | ((<u64>h4) << 38), 8);',
    '  store<u64>(out, (<u64>h5) | ((<u64>h6) << 25) | ((<u64>h7) << 51), 16);',
    '  store<u64>(out, ((<u64>h7) >> 13) | ((<u64>h8) << 12) | ((<u64>h9) << 38), 24);',
    '}',
  );
  return L.join('\n');
}

export default function field() {
  return [
    '// Generated by wasm/gen/field.mjs: do not edit by hand. Field elements are ten signed i64 limbs at a raw',
    '// address (radix 2^25.5); outputs may alias inputs.',
    '',
    mul(),
    '',
    '/** h = f^2. */',
    sq('feSquare', false),
    '',
    '/** h = 2 f^2 (point doubling needs 2Z^2). */',
    sq('feSquare2', true),
    '',
    '/** Fully reduces modulo p and writes the 32-byte little-endian encoding. */',
    pack(),
    '',
    lanes('feCopy(o: usize, a: usize)', (v) => v('a')),
    '',
    "/** o = a + b, limb-wise without carrying (callers keep the growth within feMul's bounds). */",
    lanes('feAdd(o: usize, a: usize, b: usize)', (v) => `i64x2.add(${v('a')}, ${v('b')})`),
    '',
    '/** o = a - b, limb-wise. */',
    lanes('feSub(o: usize, a: usize, b: usize)', (v) => `i64x2.sub(${v('a')}, ${v('b')})`),
    '',
    lanes('feNeg(o: usize, a: usize)', (v) => `i64x2.neg(${v('a')})`),
    '',
  ].join('\n');
}
