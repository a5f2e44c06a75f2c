// A clinic cut off from the consortium while the others commit past its watermark window catches up from its
// peers' certified blocks once it is reachable again: its host checks every fetched block's commit
// certificate under the epoch id its replica signs with, so the replica must be started under the epoch the
// host names (the stall an `npm run fl -- --ledger pbft` run hit when one clinic's replica fell behind).
// Its own transactions then commit and reach it: a replica left alone in a later view follows by state
// transfer at the others' stable checkpoints.
import { describe, expect, it } from 'vitest';
import { useSimConsortium } from '../../unit/shared/sim-consortium.ts';

const startSim = useSimConsortium();

describe('a lagging clinic on the PBFT consortium', () => {
  it('installs the certified state it missed and sees its own transactions commit', async () => {
    const s = await startSim({ clinics: 5, ledger: 'pbft', seed: 5, checkpointInterval: 4 });
    const primary = s.consensus[0]!.primary;
    const lagging = (primary + 1) % 5;
    const writer = s.clinics[(primary + 2) % 5]!;
    const close = (c: (typeof s.clinics)[number], round: number) => s.run(c.ledger.submit(c.author.make('flCloseRound', { task: 'none', round })));
    s.net.partition([s.clinics.filter((_, i) => i !== lagging).map((c) => c.peer)]);
    // K = 4, watermark window 16: 24 blocks leave the cut-off clinic outside every live replica's window.
    for (let k = 1; k <= 24; k++) await close(writer, k);
    expect(s.consensus[primary]!.height).toBe(24);
    expect(s.consensus[lagging]!.height).toBe(0);
    s.net.heal();
    // The others' next stable checkpoint tells it how far behind it is; it fetches and checks every block.
    for (let k = 25; k <= 28; k++) await close(writer, k);
    expect(s.consensus[lagging]!.height).toBe(28);
    // The same block (certificates may hold different quorums of the same commits).
    expect(s.consensus[lagging]!.block(28)!.header).toEqual(s.consensus[primary]!.block(28)!.header);
    const me = s.clinics[lagging]!;
    const mine = me.ledger.submit(me.author.make('flCloseRound', { task: 'none', round: 999 }));
    for (let k = 29; k <= 32; k++) await close(writer, k);
    // Refused by the contracts (no such round), but committed, and this clinic saw it commit.
    expect(await s.run(mine)).toMatchObject({ ok: false });
    const h = s.consensus[lagging]!.height;
    expect(h).toBeGreaterThanOrEqual(32);
    expect(s.consensus[lagging]!.block(h)!.header).toEqual(s.consensus[primary]!.block(h)!.header);
  }, 120_000);
});
