// The consortium's genesis: the founding clinics (name, Ed25519 key, validator or not), the consensus
// parameters and the agreements in force from the start. It is the one source of truth until the ledger's
// committed reconfigurations take over. Parsed strictly: a genesis that does not validate is refused whole,
// with a typed error naming the field, never partly used.
//
//   { "version": 1, "chainId": "...", "createdAt": ms,
//     "consensus": { "checkpointInterval": K, "watermarkWindow": W, "maxBatch": B },
//     "clinics": [ { "id": "clinic-1", "name": "clinic-1", "nodeKey": "<64 hex>", "validator": true } ],
//     "agreements": [ { "agreementId", "orgA", "orgB", "purposes": ["TREAT"], "start": ms, "end": ms } ] }
import type { ContractsGenesis } from '../ledger/contracts/index.ts';
import { fromHex } from '../util/index.ts';

export const GENESIS_VERSION = 1;

export interface GenesisClinic {
  /** Lower-case slug, the organisation id on the ledger. */
  readonly id: string;
  /** Display name. */
  readonly name: string;
  /** Hex Ed25519 public key of the clinic's tablet: its first admin key, validator key and relay identity. */
  readonly nodeKey: string;
  readonly validator: boolean;
}

export interface GenesisAgreement {
  readonly agreementId: string;
  readonly orgA: string;
  readonly orgB: string;
  readonly purposes: string[];
  readonly start: number;
  readonly end: number;
}

export interface ConsensusParams {
  /** K: a checkpoint (and possible epoch change) every K sequence numbers. */
  readonly checkpointInterval: number;
  /** High minus low watermark, a multiple of K. */
  readonly watermarkWindow: number;
  /** Requests per PBFT batch. */
  readonly maxBatch: number;
}

export interface Genesis {
  readonly version: 1;
  readonly chainId: string;
  readonly createdAt: number;
  readonly consensus: ConsensusParams;
  readonly clinics: GenesisClinic[];
  readonly agreements: GenesisAgreement[];
}

export const DEFAULT_CONSENSUS: ConsensusParams = { checkpointInterval: 16, watermarkWindow: 64, maxBatch: 128 };

export class GenesisError extends Error {
  override readonly name = 'GenesisError';
  constructor(
    /** The JSON path of the offending field, e.g. `clinics[2].nodeKey`. */
    readonly field: string,
    message: string,
  ) {
    super(`genesis ${field}: ${message}`);
  }
}

const ORG_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const CHAIN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_CLINICS = 64;
const MAX_AGREEMENTS = 4096;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new GenesisError(field, `an integer in [${min}, ${max}]`);
  return v;
}

function text(v: unknown, field: string, max = 200): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new GenesisError(field, `a string of 1..${max} characters`);
  return v;
}

/** Validates a parsed genesis document; returns it normalised (keys lower-case) or throws GenesisError. */
export function parseGenesis(doc: unknown): Genesis {
  if (!isRecord(doc)) throw new GenesisError('$', 'not an object');
  if (doc.version !== GENESIS_VERSION) throw new GenesisError('version', `must be ${GENESIS_VERSION}`);
  const chainId = text(doc.chainId, 'chainId', 64);
  if (!CHAIN_ID.test(chainId)) throw new GenesisError('chainId', 'letters, digits, dot, dash and underscore');
  const createdAt = int(doc.createdAt, 'createdAt', 0, Number.MAX_SAFE_INTEGER);
  const c = isRecord(doc.consensus) ? doc.consensus : null;
  if (!c) throw new GenesisError('consensus', 'missing');
  const checkpointInterval = int(c.checkpointInterval, 'consensus.checkpointInterval', 1, 1 << 16);
  const watermarkWindow = int(c.watermarkWindow, 'consensus.watermarkWindow', checkpointInterval, 1 << 20);
  if (watermarkWindow % checkpointInterval !== 0) throw new GenesisError('consensus.watermarkWindow', 'a multiple of checkpointInterval');
  const maxBatch = int(c.maxBatch, 'consensus.maxBatch', 1, 1024);
  if (!Array.isArray(doc.clinics) || doc.clinics.length === 0 || doc.clinics.length > MAX_CLINICS) {
    throw new GenesisError('clinics', `a list of 1..${MAX_CLINICS} clinics`);
  }
  const ids = new Set<string>();
  const keys = new Set<string>();
  const clinics = doc.clinics.map((x: unknown, i): GenesisClinic => {
    const at = `clinics[${i}]`;
    if (!isRecord(x)) throw new GenesisError(at, 'not an object');
    const id = text(x.id, `${at}.id`, 63);
    if (!ORG_ID.test(id)) throw new GenesisError(`${at}.id`, 'a lower-case slug (a-z, 0-9, dash)');
    if (ids.has(id)) throw new GenesisError(`${at}.id`, 'repeats another clinic');
    ids.add(id);
    const name = text(x.name, `${at}.name`);
    if (typeof x.nodeKey !== 'string') throw new GenesisError(`${at}.nodeKey`, '64 hex characters');
    let nodeKey: string;
    try {
      nodeKey = x.nodeKey.toLowerCase();
      fromHex(nodeKey, 32);
    } catch {
      throw new GenesisError(`${at}.nodeKey`, '64 hex characters');
    }
    if (keys.has(nodeKey)) throw new GenesisError(`${at}.nodeKey`, "repeats another clinic's key");
    keys.add(nodeKey);
    if (typeof x.validator !== 'boolean') throw new GenesisError(`${at}.validator`, 'true or false');
    return { id, name, nodeKey, validator: x.validator };
  });
  if (!clinics.some((x) => x.validator)) throw new GenesisError('clinics', 'at least one validator');
  const list = doc.agreements ?? [];
  if (!Array.isArray(list) || list.length > MAX_AGREEMENTS) throw new GenesisError('agreements', `a list of at most ${MAX_AGREEMENTS}`);
  const agreementIds = new Set<string>();
  const agreements = list.map((x: unknown, i): GenesisAgreement => {
    const at = `agreements[${i}]`;
    if (!isRecord(x)) throw new GenesisError(at, 'not an object');
    const agreementId = text(x.agreementId, `${at}.agreementId`, 128);
    if (agreementIds.has(agreementId)) throw new GenesisError(`${at}.agreementId`, 'repeats another agreement');
    agreementIds.add(agreementId);
    const orgA = text(x.orgA, `${at}.orgA`, 63);
    const orgB = text(x.orgB, `${at}.orgB`, 63);
    if (!ids.has(orgA) || !ids.has(orgB) || orgA === orgB) throw new GenesisError(at, 'orgA and orgB must be two different genesis clinics');
    if (!Array.isArray(x.purposes) || x.purposes.length === 0 || x.purposes.some((p) => typeof p !== 'string' || !/^[A-Z][A-Z0-9]{1,15}$/.test(p))) {
      throw new GenesisError(`${at}.purposes`, 'a non-empty list of HL7 PurposeOfUse codes');
    }
    const start = int(x.start, `${at}.start`, 0, Number.MAX_SAFE_INTEGER);
    const end = int(x.end, `${at}.end`, start + 1, Number.MAX_SAFE_INTEGER);
    return { agreementId, orgA, orgB, purposes: [...new Set(x.purposes as string[])].sort(), start, end };
  });
  return { version: GENESIS_VERSION, chainId, createdAt, consensus: { checkpointInterval, watermarkWindow, maxBatch }, clinics, agreements };
}

/** Parses genesis JSON text. */
export function parseGenesisText(json: string): Genesis {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    throw new GenesisError('$', 'not JSON');
  }
  return parseGenesis(doc);
}

/** Validator clinics in genesis order (replica index = position). */
export function genesisValidators(g: Genesis): GenesisClinic[] {
  return g.clinics.filter((c) => c.validator);
}

/** Development agreements: treatment (TREAT) between every pair of clinics, for ten years. */
export function treatmentAgreements(clinicIds: readonly string[], start: number): GenesisAgreement[] {
  const out: GenesisAgreement[] = [];
  for (let i = 0; i < clinicIds.length; i++) {
    for (let j = i + 1; j < clinicIds.length; j++) {
      const a = clinicIds[i]!;
      const b = clinicIds[j]!;
      out.push({ agreementId: `treat-${a}-${b}`, orgA: a, orgB: b, purposes: ['TREAT'], start, end: start + 10 * 365 * 86_400_000 });
    }
  }
  return out;
}

/** The contracts' genesis for a consortium genesis (what every replica of the ledger starts from). */
export function contractsGenesis(g: Genesis): ContractsGenesis {
  return {
    orgs: g.clinics.map((c) => ({ id: c.id, name: c.name, adminKey: fromHex(c.nodeKey, 32), validator: c.validator })),
    agreements: g.agreements.map((a) => ({ ...a })),
    checkpointInterval: g.consensus.checkpointInterval,
  };
}
