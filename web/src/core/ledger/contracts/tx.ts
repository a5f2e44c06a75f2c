// Signed transactions: one canonical binary encoding (web/src/core/codec), one signature over
// signingBytes('hygeia/tx/v1', body). The body is
//   uint(version=1) ‖ uint(kind) ‖ signer(32) ‖ uint(nonce) ‖ uint(notAfter, ms) ‖ payload
// and the payload's fields follow the kind's schema in order. A transaction is bytes(body) ‖ signature(64).
//
// Replay is decided on the signed bytes: a transaction's id is sha256(body), and the ledger remembers every
// id it consumed until that transaction's expiry (`notAfter`, required and at most MAX_TX_LIFETIME_MS after
// the block that carries it), after which the transaction is refused as expired anyway. The nonce orders
// nothing: it only lets one signer send two transactions that would otherwise be byte-identical.
//
// Tags below 32 belong to the contracts' own domains; 32-47 to the AI layer (fl.ts, reports.ts).
import { Reader, Writer, signingBytes } from '../../codec/index.ts';
import { ed25519Verify, sha256 } from '../../../../../wasm/index.ts';

export const TX_VERSION = 1;
export const TX_DOMAIN = 'hygeia/tx/v1';
export const MAX_TX_BYTES = 64 * 1024;
/** The furthest a transaction's expiry may lie after the time of the block that commits it. */
export const MAX_TX_LIFETIME_MS = 24 * 60 * 60 * 1000;
/** What TxAuthor gives a transaction when the caller names no expiry: time to be ordered, with resends. */
export const DEFAULT_TX_LIFETIME_MS = 10 * 60 * 1000;
const MAX_STR = 256;
const MAX_LIST = 64;
/** (record 1+64, version <= 8, commitment 32) <= 105 bytes each: 600 of them stay under MAX_TX_BYTES. */
export const MAX_ANCHORS_PER_TX = 600;

export interface AnchorEntry {
  record: string;
  version: number;
  commitment: Uint8Array;
}

type FieldType = 'str' | 'strs' | 'uint' | 'bool' | 'key' | 'anchors';
type FieldValue<T> = T extends 'str'
  ? string
  : T extends 'strs'
    ? string[]
    : T extends 'uint'
      ? number
      : T extends 'bool'
        ? boolean
        : T extends 'anchors'
          ? AnchorEntry[]
          : Uint8Array;

export const SCHEMAS = {
  registerKey: { tag: 1, fields: { key: 'key', org: 'str', role: 'str', subject: 'str' } },
  revokeKey: { tag: 2, fields: { key: 'key' } },
  proposeOrg: { tag: 3, fields: { org: 'str', name: 'str', adminKey: 'key', validator: 'bool' } },
  approveOrg: { tag: 4, fields: { org: 'str' } },
  grantConsent: {
    tag: 5,
    fields: { consentId: 'str', patient: 'str', granteeOrg: 'str', granteePractitioner: 'str', purpose: 'str', resourceTypes: 'strs', start: 'uint', end: 'uint' },
  },
  revokeConsent: { tag: 6, fields: { consentId: 'str' } },
  proposeAgreement: { tag: 7, fields: { agreementId: 'str', orgA: 'str', orgB: 'str', purposes: 'strs', end: 'uint', emergency: 'bool' } },
  signAgreement: { tag: 8, fields: { agreementId: 'str' } },
  endAgreement: { tag: 9, fields: { agreementId: 'str' } },
  requestAccess: {
    tag: 10,
    fields: { requestId: 'str', requesterOrg: 'str', patient: 'str', holderOrg: 'str', resourceTypes: 'strs', purpose: 'str', breakGlass: 'bool', emergencyReason: 'str' },
  },
  recordRelease: { tag: 11, fields: { requestId: 'str', resourceTypes: 'strs', count: 'uint', digest: 'key' } },
  anchor: { tag: 12, fields: { record: 'str', version: 'uint', commitment: 'key' } },
  reviewBreakGlass: { tag: 13, fields: { requestId: 'str', verdict: 'str' } },
  anchorBatch: { tag: 14, fields: { anchors: 'anchors' } },
  proposeRemoval: { tag: 15, fields: { org: 'str' } },
  approveRemoval: { tag: 16, fields: { org: 'str' } },
  requestErasure: { tag: 17, fields: { patient: 'str' } },
  confirmErasure: { tag: 18, fields: { patient: 'str' } },
  selfAccess: { tag: 19, fields: { patient: 'str', device: 'key', resourceTypes: 'strs', count: 'uint', digest: 'key' } },
  setEmergencyPolicy: { tag: 20, fields: { orgs: 'strs', maxPerClinicianPerDay: 'uint', maxPerPatientPerDay: 'uint' } },
  // 32-47: the AI layer (fl.ts, reports.ts).
  flOpenRound: {
    tag: 32,
    fields: {
      task: 'str',
      round: 'uint',
      model: 'str',
      base: 'key',
      rule: 'str',
      epochs: 'uint',
      batchSize: 'uint',
      learningRate: 'uint',
      seed: 'uint',
      clinics: 'strs',
      deadline: 'uint',
      dpClip: 'uint',
      dpNoise: 'uint',
      dpDeltaInv: 'uint',
    },
  },
  flCommitUpdate: { tag: 33, fields: { task: 'str', round: 'uint', digest: 'key', samples: 'uint', bytes: 'uint' } },
  flCloseRound: { tag: 34, fields: { task: 'str', round: 'uint' } },
  flCommitAggregate: { tag: 35, fields: { task: 'str', round: 'uint', digest: 'key', flags: 'strs' } },
  flDeclineRound: { tag: 36, fields: { task: 'str', round: 'uint', reason: 'str' } },
  fileReport: { tag: 40, fields: { kind: 'str', subject: 'str', window: 'uint', reasons: 'strs' } },
} as const satisfies Record<string, { tag: number; fields: Record<string, FieldType> }>;

export type TxKind = keyof typeof SCHEMAS;
export type Payload<K extends TxKind> = { -readonly [F in keyof (typeof SCHEMAS)[K]['fields']]: FieldValue<(typeof SCHEMAS)[K]['fields'][F]> };

interface TxHeader {
  readonly signer: Uint8Array;
  /** Distinguishes otherwise identical transactions of one signer; any value, in any order. */
  readonly nonce: number;
  /** The latest block time (ms) the transaction may commit at: required, > 0. */
  readonly notAfter: number;
}

export type Tx = { [K in TxKind]: TxHeader & { readonly kind: K; readonly payload: Payload<K> } }[TxKind];

export interface DecodedTx {
  readonly tx: Tx;
  readonly body: Uint8Array;
  readonly signature: Uint8Array;
}

const KIND_BY_TAG = new Map<number, TxKind>(Object.entries(SCHEMAS).map(([k, s]) => [s.tag, k as TxKind]));
const TAGS = [...KIND_BY_TAG.keys()];

export class TxDecodeError extends Error {
  override readonly name = 'TxDecodeError';
}

export function encodeBody(tx: Tx): Uint8Array {
  const w = new Writer(128);
  const schema = SCHEMAS[tx.kind];
  w.uint(TX_VERSION);
  w.uint(schema.tag);
  if (tx.signer.length !== 32) throw new TypeError('a signer key is 32 bytes');
  w.fixed(tx.signer);
  w.uint(tx.nonce);
  w.uint(tx.notAfter);
  const p = tx.payload as Record<string, unknown>;
  for (const [name, type] of Object.entries(schema.fields) as [string, FieldType][]) {
    const v = p[name];
    switch (type) {
      case 'str':
        if (typeof v !== 'string' || v.length > MAX_STR) throw new TypeError(`field ${name}: a string of at most ${MAX_STR}`);
        w.str(v);
        break;
      case 'strs':
        if (!Array.isArray(v) || v.length > MAX_LIST || v.some((s) => typeof s !== 'string' || s.length > MAX_STR)) throw new TypeError(`field ${name}: a string list`);
        w.list(v as string[], (ww, s) => ww.str(s));
        break;
      case 'uint':
        w.uint(v as number);
        break;
      case 'bool':
        if (typeof v !== 'boolean') throw new TypeError(`field ${name}: a boolean`);
        w.bool(v);
        break;
      case 'key':
        if (!(v instanceof Uint8Array) || v.length !== 32) throw new TypeError(`field ${name}: 32 bytes`);
        w.fixed(v);
        break;
      case 'anchors':
        if (!Array.isArray(v) || v.length > MAX_ANCHORS_PER_TX) throw new TypeError(`field ${name}: at most ${MAX_ANCHORS_PER_TX} anchors`);
        w.list(v as AnchorEntry[], (ww, a) => {
          if (typeof a.record !== 'string' || a.record.length > MAX_STR || !(a.commitment instanceof Uint8Array) || a.commitment.length !== 32) {
            throw new TypeError(`field ${name}: an anchor is (record, version, 32-byte commitment)`);
          }
          ww.str(a.record);
          ww.uint(a.version);
          ww.fixed(a.commitment);
        });
        break;
    }
  }
  return w.finish();
}

function decodeBody(body: Uint8Array): Tx {
  const r = new Reader(body, MAX_TX_BYTES);
  const version = r.uint();
  if (r.ok && version !== TX_VERSION) throw new TxDecodeError('unknown transaction version');
  const kind = KIND_BY_TAG.get(r.tag(TAGS));
  const signer = r.fixed(32);
  const nonce = r.uint();
  const notAfter = r.uint();
  if (!r.ok || kind === undefined) throw new TxDecodeError(`transaction header does not decode (${r.error ?? 'kind'})`);
  const payload: Record<string, unknown> = {};
  for (const [name, type] of Object.entries(SCHEMAS[kind].fields) as [string, FieldType][]) {
    switch (type) {
      case 'str':
        payload[name] = r.str(MAX_STR * 4);
        break;
      case 'strs':
        payload[name] = r.list(MAX_LIST, (r) => r.str(MAX_STR * 4));
        break;
      case 'uint':
        payload[name] = r.uint();
        break;
      case 'bool':
        payload[name] = r.bool();
        break;
      case 'key':
        payload[name] = r.fixed(32);
        break;
      case 'anchors':
        payload[name] = r.list(MAX_ANCHORS_PER_TX, (r): AnchorEntry => ({ record: r.str(MAX_STR * 4), version: r.uint(), commitment: r.fixed(32) }));
        break;
    }
  }
  if (!r.end()) throw new TxDecodeError(`transaction does not decode (${r.error ?? 'error'})`);
  return { kind, signer, nonce, notAfter, payload } as Tx;
}

/** bytes(body) ‖ signature. */
export function encodeSigned(body: Uint8Array, signature: Uint8Array): Uint8Array {
  const w = new Writer(body.length + 72);
  w.bytes(body);
  w.fixed(signature);
  return w.finish();
}

/** Splits and decodes; does not check the signature (verifySignature does). */
export function decodeTx(bytes: Uint8Array): DecodedTx {
  const r = new Reader(bytes, MAX_TX_BYTES);
  const body = r.bytes(MAX_TX_BYTES);
  const signature = r.fixed(64);
  if (!r.end()) throw new TxDecodeError(`transaction envelope does not decode (${r.error ?? 'error'})`);
  return { tx: decodeBody(body), body, signature };
}

export function verifySignature(d: DecodedTx): boolean {
  return ed25519Verify(d.tx.signer, signingBytes(TX_DOMAIN, d.body), d.signature);
}

/**
 * A transaction's id: sha256 of its body (the signed bytes). Replay is decided on it, and a patient's
 * completeness log chains it. Throws TxDecodeError on bytes that are not a transaction.
 */
export function txId(txBytes: Uint8Array): Uint8Array {
  return sha256(decodeTx(txBytes).body);
}

export interface TxSigner {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

export interface TxAuthorOptions {
  /** The author's clock (ms), for default expiries; the contracts themselves only read block time. */
  readonly now?: () => number;
  /** Default expiry after now(); at most MAX_TX_LIFETIME_MS. */
  readonly lifetimeMs?: number;
}

/** A key that signs transactions, each with an expiry and a fresh nonce. */
export class TxAuthor {
  private nonce = 0;
  private readonly now: () => number;
  private readonly lifetimeMs: number;

  constructor(
    readonly signer: TxSigner,
    opts: TxAuthorOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.lifetimeMs = opts.lifetimeMs ?? DEFAULT_TX_LIFETIME_MS;
    if (!Number.isSafeInteger(this.lifetimeMs) || this.lifetimeMs < 1 || this.lifetimeMs > MAX_TX_LIFETIME_MS) {
      throw new RangeError('a transaction lifetime is 1 ms to 24 h');
    }
  }

  get publicKey(): Uint8Array {
    return this.signer.publicKey;
  }

  /** Signs a transaction; its expiry defaults to the author's clock plus its lifetime (whole ms). */
  make<K extends TxKind>(kind: K, payload: Payload<K>, opts: { notAfter?: number; nonce?: number } = {}): Uint8Array {
    const nonce = opts.nonce ?? ++this.nonce;
    const notAfter = opts.notAfter ?? Math.floor(this.now()) + this.lifetimeMs;
    const tx = { kind, signer: this.signer.publicKey, nonce, notAfter, payload } as Tx;
    const body = encodeBody(tx);
    const signed = encodeSigned(body, this.signer.sign(signingBytes(TX_DOMAIN, body)));
    if (signed.length > MAX_TX_BYTES) throw new RangeError(`a transaction is at most ${MAX_TX_BYTES} bytes`);
    return signed;
  }
}
