// The device's secrets at rest: the Ed25519 seed of this tablet (or phone) and the clinic key that wraps the
// patients' data keys. They are stored only sealed, never in clear.
//
// Like LUKS, the secrets are sealed once under a random vault key, and the vault key is wrapped once per unlock
// method ("slot"): a passphrase (PBKDF2-SHA-256, 600,000 iterations, per-slot salt) or a passkey's WebAuthn PRF
// output (HKDF). Adding a passkey or changing the passphrase rewraps one slot and never re-seals the secrets.
// AES-GCM everywhere, with the vault's name and the slot's kind as associated data, so a sealed blob cannot be
// moved to another vault or slot. A wrong passphrase is a typed error and changes nothing.
import { openDB, type IDBPDatabase } from 'idb';
import { toBase64Url } from '../util/index.ts';
import { NodeError } from './api.ts';

export const PBKDF2_ITERATIONS = 600_000;
const DB_VERSION = 1;
const STORE = 'vault';
const RECORD = 'sealed';
const DEVICE_KEY = 'device-key';
const utf8 = new TextEncoder();
const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

/** What the vault keeps: the device seed, and for a clinic the key its record store is encrypted under. */
export interface VaultSecrets {
  readonly seed: Uint8Array;
  readonly clinicKey: Uint8Array | null;
  /** Small non-secret labels kept with the secrets (the org this tablet belongs to, the patient's links …). */
  readonly meta: Record<string, string>;
}

export type Unlock =
  | { readonly passphrase: string }
  | { readonly prf: Uint8Array; readonly credentialId: string }
  /** A non-extractable key kept by this browser profile: for development phones, which start without asking. */
  | { readonly device: true };

interface Sealed {
  iv: Uint8Array;
  ct: Uint8Array;
}
interface Slot {
  kind: 'passphrase' | 'passkey' | 'device';
  /** For a passkey slot: the credential id (base64url) the screen asks the authenticator for, and the PRF
   * input (base64url, not secret) it evaluates. */
  credentialId?: string;
  prfSalt?: string;
  salt: Uint8Array;
  iterations: number;
  wrapped: Sealed;
}
interface VaultRecord {
  version: 1;
  createdAt: number;
  /** Hex public key of the sealed seed (shown before unlock: "this tablet is …"). */
  publicKey: string;
  slots: Slot[];
  secrets: Sealed;
}

function minimumPassphrase(p: string): void {
  if (typeof p !== 'string' || [...p].length < 8) throw new NodeError('invalid', 'Choose a passphrase of at least 8 characters.');
}

async function aesKey(raw: Uint8Array, usage: KeyUsage[]): Promise<CryptoKey> {
  return subtle().importKey('raw', raw as BufferSource, 'AES-GCM', false, usage);
}

async function seal(key: CryptoKey, plaintext: Uint8Array, aad: string): Promise<Sealed> {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: utf8.encode(aad) }, key, plaintext as BufferSource));
  return { iv, ct };
}

async function open(key: CryptoKey, s: Sealed, aad: string): Promise<Uint8Array | null> {
  try {
    return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv: s.iv as BufferSource, additionalData: utf8.encode(aad) }, key, s.ct as BufferSource));
  } catch {
    return null;
  }
}

function kindOf(unlock: Unlock): Slot['kind'] {
  return 'passphrase' in unlock ? 'passphrase' : 'device' in unlock ? 'device' : 'passkey';
}

async function slotKey(db: IDBPDatabase, slot: Pick<Slot, 'kind' | 'salt' | 'iterations'>, unlock: Unlock): Promise<CryptoKey> {
  if ('device' in unlock) {
    // A non-extractable AES key: this profile can use it, nothing can read it out.
    const existing = (await db.get(STORE, DEVICE_KEY)) as CryptoKey | undefined;
    if (existing) return existing;
    const key = await subtle().generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    await db.put(STORE, key, DEVICE_KEY);
    return key;
  }
  if ('passphrase' in unlock) {
    const base = await subtle().importKey('raw', utf8.encode(unlock.passphrase.normalize('NFKC')), 'PBKDF2', false, ['deriveKey']);
    return subtle().deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt: slot.salt as BufferSource, iterations: slot.iterations }, base, { name: 'AES-GCM', length: 256 }, false, [
      'encrypt',
      'decrypt',
    ]);
  }
  if (!(unlock.prf instanceof Uint8Array) || unlock.prf.length < 32) throw new NodeError('invalid', 'The passkey did not return a usable secret.');
  const base = await subtle().importKey('raw', unlock.prf as BufferSource, 'HKDF', false, ['deriveKey']);
  return subtle().deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: slot.salt as BufferSource, info: utf8.encode('hygeia/vault/passkey/v1') },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

function encodeSecrets(s: VaultSecrets): Uint8Array {
  const meta = utf8.encode(JSON.stringify(s.meta));
  const out = new Uint8Array(1 + 32 + 1 + 32 + meta.length);
  out[0] = 1;
  out.set(s.seed, 1);
  out[33] = s.clinicKey ? 1 : 0;
  if (s.clinicKey) out.set(s.clinicKey, 34);
  out.set(meta, 66);
  return out;
}

function decodeSecrets(b: Uint8Array): VaultSecrets {
  if (b[0] !== 1 || b.length < 66) throw new NodeError('invalid', 'The stored secrets are in an unknown format.');
  const meta = JSON.parse(new TextDecoder().decode(b.subarray(66))) as Record<string, string>;
  return { seed: b.slice(1, 33), clinicKey: b[33] === 1 ? b.slice(34, 66) : null, meta };
}

export class Vault {
  private constructor(
    private readonly db: IDBPDatabase,
    readonly name: string,
  ) {}

  /** Opens (creating if needed) the vault database `name` (one per role and profile, e.g. `hygeia-vault-clinic`). */
  static async open(name: string): Promise<Vault> {
    const db = await openDB(name, DB_VERSION, {
      upgrade(d) {
        d.createObjectStore(STORE);
      },
    });
    return new Vault(db, name);
  }

  close(): void {
    this.db.close();
  }

  private async record(): Promise<VaultRecord | undefined> {
    return (await this.db.get(STORE, RECORD)) as VaultRecord | undefined;
  }

  /** Whether secrets are sealed here, and what is known without unlocking. */
  async describe(): Promise<{ exists: false } | { exists: true; publicKey: string; createdAt: number; slots: { kind: Slot['kind']; credentialId?: string; prfSalt?: string }[] }> {
    const r = await this.record();
    if (!r) return { exists: false };
    return {
      exists: true,
      publicKey: r.publicKey,
      createdAt: r.createdAt,
      slots: r.slots.map((s) => ({ kind: s.kind, ...(s.credentialId ? { credentialId: s.credentialId } : {}), ...(s.prfSalt ? { prfSalt: s.prfSalt } : {}) })),
    };
  }

  /** Seals new secrets under a first unlock method. Refuses to overwrite sealed secrets. */
  async create(secrets: VaultSecrets, unlock: Unlock, publicKey: string, prfSalt?: Uint8Array): Promise<void> {
    if ('passphrase' in unlock) minimumPassphrase(unlock.passphrase);
    if (await this.record()) throw new NodeError('busy', 'This device already holds an identity; unlock it instead.');
    const vaultKeyRaw = globalThis.crypto.getRandomValues(new Uint8Array(32));
    try {
      const vaultKey = await aesKey(vaultKeyRaw, ['encrypt', 'decrypt']);
      const record: VaultRecord = {
        version: 1,
        createdAt: Date.now(),
        publicKey,
        slots: [await this.makeSlot(vaultKeyRaw, unlock, prfSalt)],
        secrets: await seal(vaultKey, encodeSecrets(secrets), `${this.name}/secrets`),
      };
      await this.db.put(STORE, record, RECORD);
    } finally {
      vaultKeyRaw.fill(0);
    }
  }

  private async makeSlot(vaultKeyRaw: Uint8Array, unlock: Unlock, prfSalt?: Uint8Array): Promise<Slot> {
    const kind = kindOf(unlock);
    const salt = globalThis.crypto.getRandomValues(new Uint8Array(16));
    const iterations = kind === 'passphrase' ? PBKDF2_ITERATIONS : 0;
    const key = await slotKey(this.db, { kind, salt, iterations }, unlock);
    return {
      kind,
      ...('credentialId' in unlock ? { credentialId: unlock.credentialId } : {}),
      ...(prfSalt ? { prfSalt: toBase64Url(prfSalt) } : {}),
      salt,
      iterations,
      wrapped: await seal(key, vaultKeyRaw, `${this.name}/slot/${kind}`),
    };
  }

  private async vaultKey(r: VaultRecord, unlock: Unlock): Promise<Uint8Array> {
    const kind = kindOf(unlock);
    for (const slot of r.slots) {
      if (slot.kind !== kind) continue;
      if (kind === 'passkey' && 'credentialId' in unlock && slot.credentialId !== unlock.credentialId) continue;
      const raw = await open(await slotKey(this.db, slot, unlock), slot.wrapped, `${this.name}/slot/${kind}`);
      if (raw) return raw;
    }
    throw new NodeError('wrong-passphrase', kind === 'passphrase' ? 'That passphrase does not unlock this device.' : 'That passkey does not unlock this device.');
  }

  /** Opens the secrets. A wrong passphrase or passkey is a NodeError('wrong-passphrase') and changes nothing. */
  async unlock(unlock: Unlock): Promise<VaultSecrets> {
    const r = await this.record();
    if (!r) throw new NodeError('not-found', 'No identity is stored on this device yet.');
    const raw = await this.vaultKey(r, unlock);
    try {
      const plain = await open(await aesKey(raw, ['decrypt']), r.secrets, `${this.name}/secrets`);
      if (!plain) throw new NodeError('invalid', 'The stored secrets do not open: the vault was altered.');
      try {
        return decodeSecrets(plain);
      } finally {
        plain.fill(0);
      }
    } finally {
      raw.fill(0);
    }
  }

  /** Adds an unlock method (a passkey, or a second passphrase), proven by an existing one. */
  async addSlot(existing: Unlock, added: Unlock, prfSalt?: Uint8Array): Promise<void> {
    if ('passphrase' in added) minimumPassphrase(added.passphrase);
    const r = await this.record();
    if (!r) throw new NodeError('not-found', 'No identity is stored on this device yet.');
    const raw = await this.vaultKey(r, existing);
    try {
      const slot = await this.makeSlot(raw, added, prfSalt);
      await this.db.put(STORE, { ...r, slots: [...r.slots, slot] }, RECORD);
    } finally {
      raw.fill(0);
    }
  }

  /** Replaces the passphrase slots with one for `next`. */
  async changePassphrase(current: Unlock, next: string): Promise<void> {
    minimumPassphrase(next);
    const r = await this.record();
    if (!r) throw new NodeError('not-found', 'No identity is stored on this device yet.');
    const raw = await this.vaultKey(r, current);
    try {
      const slot = await this.makeSlot(raw, { passphrase: next });
      await this.db.put(STORE, { ...r, slots: [...r.slots.filter((s) => s.kind !== 'passphrase'), slot] }, RECORD);
    } finally {
      raw.fill(0);
    }
  }
}
