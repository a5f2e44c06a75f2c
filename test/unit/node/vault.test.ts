import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { NodeError } from '../../../web/src/core/node/api.ts';
import { PBKDF2_ITERATIONS, Vault } from '../../../web/src/core/node/vault.ts';

const seed = new Uint8Array(32).fill(7);
const clinicKey = new Uint8Array(32).fill(9);
const secrets = { seed, clinicKey, meta: { org: 'clinic-1' } };

async function rawRecord(name: string): Promise<Uint8Array> {
  const { openDB } = await import('idb');
  const db = await openDB(name);
  const r = await db.get('vault', 'sealed');
  db.close();
  return new TextEncoder().encode(JSON.stringify(r, (_k, v) => (v instanceof Uint8Array ? Array.from(v) : v)));
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

describe('vault', () => {
  it('seals under a passphrase with at least 600,000 PBKDF2 iterations and opens with it', async () => {
    expect(PBKDF2_ITERATIONS).toBeGreaterThanOrEqual(600_000);
    const v = await Vault.open('vault-a');
    expect(await v.describe()).toEqual({ exists: false });
    await v.create(secrets, { passphrase: 'correct horse battery' }, 'ab'.repeat(32));
    const d = await v.describe();
    expect(d).toMatchObject({ exists: true, publicKey: 'ab'.repeat(32), slots: [{ kind: 'passphrase' }] });
    const out = await v.unlock({ passphrase: 'correct horse battery' });
    expect(out.seed).toEqual(seed);
    expect(out.clinicKey).toEqual(clinicKey);
    expect(out.meta).toEqual({ org: 'clinic-1' });
    v.close();
  });

  it('never stores the seed or the clinic key in clear', async () => {
    const v = await Vault.open('vault-b');
    const s = { seed: new Uint8Array(32).map((_, i) => i * 3 + 1), clinicKey: new Uint8Array(32).map((_, i) => 255 - i), meta: {} };
    await v.create(s, { passphrase: 'a long passphrase' }, '00'.repeat(32));
    v.close();
    const raw = await rawRecord('vault-b');
    expect(contains(raw, new TextEncoder().encode(Array.from(s.seed.subarray(0, 8)).join(',')))).toBe(false);
    expect(contains(raw, new TextEncoder().encode(Array.from(s.clinicKey.subarray(0, 8)).join(',')))).toBe(false);
  });

  it('a wrong passphrase is a typed error and changes nothing', async () => {
    const v = await Vault.open('vault-c');
    await v.create(secrets, { passphrase: 'the right one!' }, 'cd'.repeat(32));
    const before = await rawRecord('vault-c');
    const err = await v.unlock({ passphrase: 'the wrong one' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeError);
    expect((err as NodeError).code).toBe('wrong-passphrase');
    expect(await rawRecord('vault-c')).toEqual(before);
    expect((await v.unlock({ passphrase: 'the right one!' })).seed).toEqual(seed);
    v.close();
  });

  it('refuses to overwrite sealed secrets and short passphrases', async () => {
    const v = await Vault.open('vault-d');
    await expect(v.create(secrets, { passphrase: 'short' }, 'ef'.repeat(32))).rejects.toMatchObject({ code: 'invalid' });
    await v.create(secrets, { passphrase: 'long enough here' }, 'ef'.repeat(32));
    await expect(v.create(secrets, { passphrase: 'long enough here' }, 'ef'.repeat(32))).rejects.toMatchObject({ code: 'busy' });
    v.close();
  });

  it('adds a passkey slot and changes the passphrase without re-sealing the secrets', async () => {
    const v = await Vault.open('vault-e');
    await v.create(secrets, { passphrase: 'first passphrase' }, '12'.repeat(32));
    const prf = new Uint8Array(32).fill(42);
    await v.addSlot({ passphrase: 'first passphrase' }, { prf, credentialId: 'cred-1' });
    expect((await v.unlock({ prf, credentialId: 'cred-1' })).seed).toEqual(seed);
    await expect(v.unlock({ prf: new Uint8Array(32).fill(43), credentialId: 'cred-1' })).rejects.toMatchObject({ code: 'wrong-passphrase' });
    await v.changePassphrase({ prf, credentialId: 'cred-1' }, 'second passphrase');
    await expect(v.unlock({ passphrase: 'first passphrase' })).rejects.toMatchObject({ code: 'wrong-passphrase' });
    expect((await v.unlock({ passphrase: 'second passphrase' })).clinicKey).toEqual(clinicKey);
    v.close();
  });

  it('detects a sealed blob that was altered or moved between vaults', async () => {
    const { openDB } = await import('idb');
    const a = await Vault.open('vault-f');
    await a.create(secrets, { passphrase: 'same passphrase' }, '34'.repeat(32));
    a.close();
    const b = await Vault.open('vault-g');
    await b.create({ ...secrets, seed: new Uint8Array(32).fill(1) }, { passphrase: 'same passphrase' }, '56'.repeat(32));
    b.close();
    // Move vault-f's record into vault-g: the associated data (the vault's name) no longer matches.
    const dbf = await openDB('vault-f');
    const rec = await dbf.get('vault', 'sealed');
    dbf.close();
    const dbg = await openDB('vault-g');
    await dbg.put('vault', rec, 'sealed');
    dbg.close();
    const g = await Vault.open('vault-g');
    await expect(g.unlock({ passphrase: 'same passphrase' })).rejects.toBeInstanceOf(NodeError);
    g.close();
    // One flipped byte of the sealed secrets.
    const dbf2 = await openDB('vault-f');
    const r2 = await dbf2.get('vault', 'sealed');
    r2.secrets.ct[5] ^= 1;
    await dbf2.put('vault', r2, 'sealed');
    dbf2.close();
    const f = await Vault.open('vault-f');
    await expect(f.unlock({ passphrase: 'same passphrase' })).rejects.toMatchObject({ code: 'invalid' });
    f.close();
  });

  it("a device slot opens without a passphrase in this profile only, and keeps a passkey's PRF salt", async () => {
    const v = await Vault.open('vault-h');
    await v.create(secrets, { device: true }, '78'.repeat(32));
    expect((await v.unlock({ device: true })).seed).toEqual(seed);
    const prf = new Uint8Array(32).fill(5);
    await v.addSlot({ device: true }, { prf, credentialId: 'cred-h' }, new Uint8Array([1, 2, 3]));
    expect(await v.describe()).toMatchObject({ slots: [{ kind: 'device' }, { kind: 'passkey', credentialId: 'cred-h', prfSalt: 'AQID' }] });
    v.close();
    // Another profile (here: the device key gone) cannot open it.
    const { openDB } = await import('idb');
    const db = await openDB('vault-h');
    await db.delete('vault', 'device-key');
    db.close();
    const again = await Vault.open('vault-h');
    await expect(again.unlock({ device: true })).rejects.toMatchObject({ code: 'wrong-passphrase' });
    expect((await again.unlock({ prf, credentialId: 'cred-h' })).seed).toEqual(seed);
    again.close();
  });
});
