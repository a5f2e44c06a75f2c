/// <reference types="fhir" />
// Records another clinic released to this one, kept apart from the clinic's own: one row per request, under
// its own data key (wrapped like the patients', rewrapped on every rotation), never listed by the patient
// search, the chart, or a release of our own.
import type { IDBPDatabase } from 'idb';
import { RecordError } from './errors.ts';
import type { Keychain } from './keychain.ts';
import { decodeUtf8, open, seal, unwrapDataKey } from './keys.ts';
import type { ReceivedRow } from './layout.ts';
import { aad, encodeJson } from './payload.ts';
import { isObject } from './bundle.ts';

export interface ReceivedRecords {
  readonly requestId: string;
  /** The holding clinic's name. */
  readonly holder: string;
  /** The patient as the request named them (the holder's pseudonym). */
  readonly patient: string;
  readonly receivedAt: number;
  readonly resources: fhir4.Resource[];
}

export class ReceivedShelf {
  constructor(
    private readonly db: IDBPDatabase,
    private readonly keys: Keychain,
  ) {}

  async store(r: ReceivedRecords, tagOf: (label: string) => string): Promise<void> {
    const key = tagOf('received|' + r.requestId);
    const { key: dataKey, wrapped } = await this.keys.fresh();
    const c = await seal(dataKey, encodeJson(r), aad.received(key));
    await this.db.put('received', { w: wrapped, c } satisfies ReceivedRow, key);
  }

  async list(requestId: string | undefined, tagOf: (label: string) => string): Promise<ReceivedRecords[]> {
    let entries: [string, ReceivedRow][];
    if (requestId !== undefined) {
      const key = tagOf('received|' + requestId);
      const row = (await this.db.get('received', key)) as ReceivedRow | undefined;
      entries = row === undefined ? [] : [[key, row]];
    } else {
      const tx = this.db.transaction('received');
      const [keys, rows] = await Promise.all([tx.store.getAllKeys() as Promise<string[]>, tx.store.getAll() as Promise<ReceivedRow[]>]);
      await tx.done;
      entries = keys.map((k, i) => [k, rows[i]!]);
    }
    const out: ReceivedRecords[] = [];
    for (const [key, row] of entries) {
      const dataKey = await this.unwrap(row);
      const p = JSON.parse(decodeUtf8(await open(dataKey, row.c, aad.received(key)))) as unknown;
      if (!isObject(p) || typeof p.requestId !== 'string' || !Array.isArray(p.resources)) throw new RecordError('tampered', 'a received package has an unknown shape');
      out.push(p as unknown as ReceivedRecords);
    }
    return out.sort((a, b) => a.receivedAt - b.receivedAt);
  }

  private async unwrap(row: ReceivedRow): Promise<CryptoKey> {
    try {
      return await unwrapDataKey(this.keys.keyring.wrap, row.w);
    } catch (e) {
      await this.keys.reload();
      return unwrapDataKey(this.keys.keyring.wrap, row.w).catch(() => {
        throw e;
      });
    }
  }
}
