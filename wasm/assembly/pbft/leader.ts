// Trust-ordered leadership: validators sorted by trust (descending, ties by public key bytes ascending),
// with at most f of those below the trust floor dropped from the end. Trust decides who leads, never who
// counts: quorums stay ceil((n+f+1)/2) whatever the scores.
import { bytesCompare } from './crypto';

/** Does validator a come before b in the leader order? */
function before(a: i32, b: i32, trust: StaticArray<i64>, keys: Array<Uint8Array>): bool {
  const ta = unchecked(trust[a]);
  const tb = unchecked(trust[b]);
  if (ta != tb) return ta > tb;
  return bytesCompare(unchecked(keys[a]), unchecked(keys[b])) < 0;
}

export function leaderOrder(trust: StaticArray<i64>, keys: Array<Uint8Array>, floor: f64, f: i32): Array<i32> {
  const n = keys.length;
  const order = new Array<i32>(n);
  for (let i = 0; i < n; i++) unchecked((order[i] = i));
  // Insertion sort: n <= 64, and AssemblyScript comparators cannot capture the scores.
  for (let i = 1; i < n; i++) {
    const x = unchecked(order[i]);
    let j = i - 1;
    while (j >= 0 && before(x, unchecked(order[j]), trust, keys)) {
      unchecked((order[j + 1] = order[j]));
      j--;
    }
    unchecked((order[j + 1] = x));
  }
  // The ones below the floor form a suffix (lowest trust last); skip at most f of them.
  let skip = 0;
  while (skip < f && skip < n - 1 && <f64>unchecked(trust[order[n - 1 - skip]]) < floor) skip++;
  order.length = n - skip;
  return order;
}
