// The TypeScript leader order (security/trust.ts) against the AssemblyScript one the wasm replica runs
// (wasm/assembly/pbft/leader.ts): for seeded trust vectors with ties, floors and 4 to 10 validators, the
// replicas' primary in every view of a walk through 2n view changes is the TypeScript order's.
import { afterEach, describe, expect, it } from 'vitest';
import { faultsTolerated } from '../../../web/src/core/ledger/quorum.ts';
import { leaderOrder, primaryForView } from '../../../web/src/core/security/index.ts';
import { Prng } from '../../../web/src/core/util/index.ts';
import { Cluster, request } from '../pbft/cluster.ts';
import { MsgType, header } from '../../sim/wire.ts';
import { useCore } from '../shared/core.ts';

useCore();

let cluster: Cluster | null = null;
afterEach(() => {
  cluster?.dispose();
  cluster = null;
});

describe('leader order: TypeScript twin of the AssemblyScript replica', () => {
  const p = new Prng(2024);
  const cases = Array.from({ length: 12 }, (_, k) => {
    const n = 4 + (k % 4);
    // Few distinct values, so ties (broken by key) are common; floors that skip none, some, or more than f.
    const trust = Array.from({ length: n }, () => p.pick([0, 10, 10, 40, 90, 1000]));
    const floor = p.pick([0, 15, 50, 5000]);
    return { n, trust, floor };
  });
  // And scores drawn over the whole range, for up to ten validators.
  for (let k = 0; k < 6; k++) {
    const n = 4 + p.int(7);
    cases.push({ n, trust: Array.from({ length: n }, () => p.int(1001)), floor: p.int(1001) });
  }

  it.each(cases)('n = $n, trust $trust, floor $floor', ({ n, trust, floor }) => {
    const c = (cluster = new Cluster({ n, maxBatch: 1, trust, trustFloor: floor }));
    const order = leaderOrder(c.keys, trust, floor, faultsTolerated(n));
    expect(c.replicas.map((r) => r.primary)).toEqual(Array.from({ length: n }, () => primaryForView(0, order)));
    // Only suspicions and view changes get through, so every new primary stays silent and the replicas walk view after view.
    c.filter = (d) => header(d.bytes).type === MsgType.ViewChange || header(d.bytes).type === MsgType.Suspect;
    c.submit(request(1, 1));
    for (let v = 1; v <= 2 * n; v++) {
      for (let i = 0; i < n; i++) c.fire(i, 'viewChange');
      c.deliver();
      for (let i = 0; i < n; i++) expect([c.replicas[i]!.view, c.replicas[i]!.primary], `replica ${i}, view ${v}`).toEqual([v, primaryForView(v, order)]);
    }
  });
});
