// A natural logarithm every engine computes to the same bits: verdicts and DP noise that honest nodes must
// agree on cannot use Math.log, which the language does not require to be correctly rounded.

const LN2 = 0.6931471805599453;

/**
 * Natural logarithm from IEEE-exact operations only (+, ×, ÷), so every engine gets the same bits (Math.log
 * is not required to be correctly rounded). x = m·2^e with m in [1, 2); ln m = 2·atanh((m−1)/(m+1)).
 */
export function exactLn(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw new RangeError('exactLn needs a finite positive number');
  let m = x;
  let e = 0;
  while (m >= 2) {
    m /= 2;
    e++;
  }
  while (m < 1) {
    m *= 2;
    e--;
  }
  const z = (m - 1) / (m + 1);
  const z2 = z * z;
  let term = z;
  let sum = 0;
  for (let k = 1; k < 60; k += 2) {
    sum += term / k;
    term *= z2;
  }
  return 2 * sum + e * LN2;
}
