import { describe, expect, it } from 'vitest';
import { StateCore } from '../../../web/src/core/ledger/contracts/state-core.ts';

describe('StateCore.count', () => {
  it('counts a directory as keys() lists it: committed keys, and a transaction’s pending puts and deletes', () => {
    const s = new StateCore();
    s.put('anchor/a/1', { v: 1 });
    s.put('anchor/a/2', { v: 2 });
    s.put('anchor/b/1', { v: 3 });
    expect([s.count('anchor/a'), s.count('anchor/b'), s.count('anchor/c'), s.count('anchor')]).toEqual([2, 1, 0, 0]);
    s.begin();
    s.put('anchor/a/3', { v: 4 });
    s.del('anchor/a/1');
    s.del('anchor/b/1');
    expect([s.count('anchor/a'), s.count('anchor/b')]).toEqual([s.keys('anchor/a').length, 0]);
    expect(s.count('anchor/a')).toBe(2);
    s.abort();
    expect([s.count('anchor/a'), s.count('anchor/b')]).toEqual([2, 1]);
    s.begin();
    s.del('anchor/a/1');
    s.commit();
    expect([s.count('anchor/a'), s.keys('anchor/a')]).toEqual([1, ['anchor/a/2']]);
  });
});
