// The open store's keys in memory: the keyring (opened from the `meta` row with the clinic key's KEK) and
// the owners' unwrapped data keys, cached while the store is open. When another tab rotates the wrapping key
// (an erasure) its broadcast, or the first data key that no longer unwraps, makes this reload the keyring
// and drop every cached data key.
import type { IDBPDatabase } from 'idb';
import { RecordError } from './errors.ts';
import { KEYRING_KEY, type OwnerRow, type SealedRow } from './layout.ts';
import { keyringOf, newDataKey, newKeyringSecrets, openKeyringSecrets, sealKeyring, unwrapDataKey, wipe, type Keyring } from './keys.ts';

export class Keychain {
  #keyring: Keyring;
  readonly #dataKeys = new Map<string, CryptoKey>();

  private constructor(
    private readonly db: IDBPDatabase,
    private kek: CryptoKey,
    keyring: Keyring,
  ) {
    this.#keyring = keyring;
  }

  /** Opens the keyring, creating it on a new store (first writer wins if two tabs race). */
  static async open(db: IDBPDatabase, kek: CryptoKey, clinicKey: Uint8Array): Promise<Keychain> {
    let row = (await db.get('meta', KEYRING_KEY)) as SealedRow | undefined;
    if (row === undefined) {
      const secrets = await newKeyringSecrets(clinicKey);
      const sealed = await sealKeyring(kek, secrets);
      wipe(secrets);
      try {
        await db.add('meta', { c: sealed } satisfies SealedRow, KEYRING_KEY);
      } catch (e) {
        if (!(e instanceof DOMException && e.name === 'ConstraintError')) throw e;
      }
      row = (await db.get('meta', KEYRING_KEY)) as SealedRow;
    }
    const secrets = await openKeyringSecrets(kek, row.c);
    const keyring = await keyringOf(secrets);
    wipe(secrets);
    return new Keychain(db, kek, keyring);
  }

  get keyring(): Keyring {
    return this.#keyring;
  }

  get keyEncryptionKey(): CryptoKey {
    return this.kek;
  }

  /** After `rekey`: the keyring is now sealed under another clinic key. */
  useKek(kek: CryptoKey): void {
    this.kek = kek;
  }

  /** Re-reads the keyring (another tab rotated it) and forgets every unwrapped data key. */
  async reload(): Promise<void> {
    const row = (await this.db.get('meta', KEYRING_KEY)) as SealedRow | undefined;
    if (row === undefined) throw new RecordError('tampered', 'the keyring row is missing');
    const secrets = await openKeyringSecrets(this.kek, row.c);
    this.#keyring = await keyringOf(secrets);
    wipe(secrets);
    this.#dataKeys.clear();
  }

  /** Installs a keyring this instance just committed (its own rotation). */
  install(keyring: Keyring): void {
    this.#keyring = keyring;
    this.#dataKeys.clear();
  }

  forget(owner: string): void {
    this.#dataKeys.delete(owner);
  }

  forgetAll(): void {
    this.#dataKeys.clear();
  }

  cached(owner: string): CryptoKey | undefined {
    return this.#dataKeys.get(owner);
  }

  /** The data key of an existing owner row; reloads the keyring once if it was rotated elsewhere. */
  async dataKey(owner: string, row: OwnerRow): Promise<CryptoKey> {
    const hit = this.#dataKeys.get(owner);
    if (hit !== undefined) return hit;
    let key: CryptoKey;
    try {
      key = await unwrapDataKey(this.#keyring.wrap, row.w);
    } catch (e) {
      if (!(e instanceof RecordError)) throw e;
      const epoch = this.#keyring.epoch;
      await this.reload();
      if (this.#keyring.epoch === epoch) throw e;
      key = await unwrapDataKey(this.#keyring.wrap, row.w);
    }
    this.#dataKeys.set(owner, key);
    return key;
  }

  /** A data key for a new owner (kept in the cache only once its row is committed: see `adopt`). */
  async fresh(): Promise<{ key: CryptoKey; wrapped: Uint8Array }> {
    return newDataKey(this.#keyring.wrap);
  }

  adopt(owner: string, key: CryptoKey): void {
    this.#dataKeys.set(owner, key);
  }
}
