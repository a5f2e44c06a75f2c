// The relay's ledger (finding 9 and the clinic-node issue): membership is what the relay verified itself. Real
// certified blocks from four PBFT validators; every way a pushed block can lie is refused with its reason,
// and the verified state survives a restart.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../relay/log.ts';
import { RelayLedger, type AcceptResult } from '../../../relay/ledger.ts';
import type { Block } from '../../../web/src/core/ledger/block.ts';
import { toHex } from '../../../web/src/core/util/index.ts';
import { patientKeyChain } from './chain.ts';

const { genesis, clinics, patient, registered, revoked } = await patientKeyChain();
const patientKey = patient.publicKey;

const refusal = (fn: () => AcceptResult): string => {
  const r = fn();
  return r.refused ? `${r.refused.reason}@${r.refused.height}` : 'accepted';
};

/** A deep copy of a block with one change. */
function altered(b: Block, change: (b: { header: Record<string, unknown>; txs: Uint8Array[]; certificate: Uint8Array }) => void): Block {
  const copy = { header: { ...b.header, skipped: [...b.header.skipped] } as Record<string, unknown>, txs: b.txs.map((t) => t.slice()), certificate: b.certificate.slice() };
  change(copy);
  return copy as unknown as Block;
}

describe('RelayLedger', () => {
  it('starts from genesis: the founding clinics are members, nobody else', () => {
    const ledger = RelayLedger.open({ genesis, dir: null, log: silentLogger });
    expect(ledger.height).toBe(0);
    for (const c of clinics) expect(ledger.roleOf(c.publicKey)).toBe('clinic');
    expect(ledger.roleOf(patientKey)).toBeNull();
    expect(ledger.roleOf('not hex')).toBeNull();
  });

  it('takes membership from blocks it verified and re-executed: a registered patient, then its revocation', () => {
    const ledger = RelayLedger.open({ genesis, dir: null, log: silentLogger });
    let changes = 0;
    ledger.onChange(() => changes++);
    const r = ledger.accept(registered);
    expect(r).toMatchObject({ accepted: registered.length, height: registered.at(-1)!.header.height, refused: null });
    expect(ledger.roleOf(patientKey)).toBe('patient');
    ledger.accept(revoked);
    expect(ledger.roleOf(patientKey)).toBeNull();
    expect(changes).toBe(2);
    // Blocks it already holds are skipped, not re-applied.
    expect(ledger.accept(registered).accepted).toBe(0);
  });

  it('refuses a forged certificate, altered transactions, a lying state root, a gap and another chain, naming the block', () => {
    const first = registered[0]!;
    const h = first.header.height;
    const cases: [string, Block[], RegExp][] = [
      ['a certificate with a flipped signature byte', [altered(first, (b) => (b.certificate[b.certificate.length - 3]! ^= 1))], /^certificate-bad-signature@/],
      ['a certificate cut short', [altered(first, (b) => (b.certificate = b.certificate.subarray(0, 10)))], /^certificate-malformed@/],
      ['an altered transaction', [altered(registered.at(-1)!, (b) => (b.txs[0]![b.txs[0]!.length - 1]! ^= 1))], /(tx-root-mismatch|gap)@/],
      ['a state root the transactions do not produce', [altered(first, (b) => (b.header.stateRoot = new Uint8Array(32).fill(7)))], /^state-mismatch@/],
      ['a block above the next height', [registered.at(-1)!.header.height > 1 ? registered.at(-1)! : revoked.at(-1)!], /^gap@/],
    ];
    for (const [what, blocks, expected] of cases) {
      const ledger = RelayLedger.open({ genesis, dir: null, log: silentLogger });
      expect(
        refusal(() => ledger.accept(blocks)),
        what,
      ).toMatch(expected);
      expect(ledger.height, what).toBe(0);
    }
    // The chain of another consortium does not extend this genesis.
    const other = RelayLedger.open({ genesis: { ...genesis, clinics: genesis.clinics.slice(1), agreements: [] }, dir: null, log: silentLogger });
    expect(refusal(() => other.accept([first]))).toBe(`genesis-mismatch@${h}`);
  });

  it('keeps the blocks before a refused one', () => {
    const ledger = RelayLedger.open({ genesis, dir: null, log: silentLogger });
    const bad = altered(revoked[0]!, (b) => (b.header.stateRoot = new Uint8Array(32)));
    expect(refusal(() => ledger.accept([...registered, bad]))).toBe(`state-mismatch@${bad.header.height}`);
    expect(ledger.height).toBe(registered.at(-1)!.header.height);
    expect(ledger.roleOf(patientKey)).toBe('patient');
  });

  it('persists its verified state and resumes from it, not from genesis; a file of another chain is ignored', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hygeia-relay-ledger-'));
    const ledger = RelayLedger.open({ genesis, dir, log: silentLogger });
    ledger.accept(registered);
    ledger.persist();
    const again = RelayLedger.open({ genesis, dir, log: silentLogger });
    expect(again.height).toBe(ledger.height);
    expect(toHex(again.headHash)).toBe(toHex(ledger.headHash));
    expect(again.roleOf(patientKey)).toBe('patient');
    // It continues the chain from there.
    expect(again.accept(revoked).accepted).toBe(revoked.length);
    expect(again.roleOf(patientKey)).toBeNull();

    const elsewhere = RelayLedger.open({ genesis: { ...genesis, chainId: 'another-chain' }, dir, log: silentLogger });
    expect(elsewhere.height).toBe(0);
    writeFileSync(join(dir, 'relay-ledger.bin'), 'garbage');
    expect(RelayLedger.open({ genesis, dir, log: silentLogger }).height).toBe(0);
  });
});
