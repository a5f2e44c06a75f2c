// A consortium's files on disk (Node only), like Fabric's test network: `DIR/genesis.json`, and for a
// development consortium the clinics' keys under `DIR/keys/<clinic>.json` (never for a real one: a real tablet
// generates its key and only its public key is added). Writes are atomic (temp file, then rename).
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ed25519GenerateSecretKey, ed25519PublicKey, initCore } from '../../../../wasm/index.ts';
import { fromHex, toHex } from '../util/index.ts';
import { DEFAULT_CONSENSUS, GenesisError, parseGenesisText, treatmentAgreements, type ConsensusParams, type Genesis, type GenesisClinic } from './genesis.ts';

export const GENESIS_FILE = 'genesis.json';

export interface DevKeyFile {
  readonly id: string;
  readonly name: string;
  readonly publicKey: string;
  /** The tablet's 32-byte Ed25519 seed, hex. Development only. */
  readonly seed: string;
}

function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.tmp`);
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

function ignoreInGit(dir: string): void {
  mkdirSync(dir, { recursive: true });
  try {
    writeFileSync(join(dir, '.gitignore'), '*\n', { flag: 'wx' });
  } catch {
    // already there
  }
}

export function readGenesis(dir: string): Genesis {
  return parseGenesisText(readFileSync(join(dir, GENESIS_FILE), 'utf8'));
}

function writeGenesis(dir: string, g: Genesis): string {
  const path = join(dir, GENESIS_FILE);
  writeAtomic(path, `${JSON.stringify(g, null, 2)}\n`);
  return path;
}

/**
 * Creates a development consortium of `clinics` validator clinics named clinic-1 … clinic-N, with a treatment
 * agreement between every pair, and writes their keys. Refuses to overwrite an existing genesis.
 */
export async function initConsortium(opts: { dir: string; clinics: number; consensus?: Partial<ConsensusParams>; now?: number }): Promise<{ genesis: Genesis; path: string }> {
  if (!Number.isInteger(opts.clinics) || opts.clinics < 1 || opts.clinics > 64) throw new GenesisError('clinics', 'between 1 and 64 clinics');
  if (existsSync(join(opts.dir, GENESIS_FILE))) throw new GenesisError('$', `${join(opts.dir, GENESIS_FILE)} exists already; choose another --dir`);
  await initCore();
  ignoreInGit(opts.dir);
  const now = opts.now ?? Date.now();
  const clinics: GenesisClinic[] = [];
  for (let i = 1; i <= opts.clinics; i++) {
    const seed = ed25519GenerateSecretKey();
    const id = `clinic-${i}`;
    const publicKey = toHex(ed25519PublicKey(seed));
    writeAtomic(join(opts.dir, 'keys', `${id}.json`), `${JSON.stringify({ id, name: id, publicKey, seed: toHex(seed) } satisfies DevKeyFile, null, 2)}\n`);
    seed.fill(0);
    clinics.push({ id, name: id, nodeKey: publicKey, validator: true });
  }
  const rand = new Uint8Array(4);
  globalThis.crypto.getRandomValues(rand);
  const doc = {
    version: 1,
    chainId: `hygeia-dev-${toHex(rand)}`,
    createdAt: now,
    consensus: { ...DEFAULT_CONSENSUS, ...opts.consensus },
    clinics,
    agreements: treatmentAgreements(
      clinics.map((c) => c.id),
      now,
    ),
  };
  const genesis = parseGenesisText(JSON.stringify(doc));
  return { genesis, path: writeGenesis(opts.dir, genesis) };
}

/** Adds a clinic (a real tablet's public key) to a genesis that has not started a chain yet. */
export function addClinic(opts: { dir: string; name: string; key: string; validator?: boolean; id?: string }): Genesis {
  const g = readGenesis(opts.dir);
  const id =
    opts.id ??
    opts.name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 63);
  const key = opts.key.toLowerCase();
  try {
    fromHex(key, 32);
  } catch {
    throw new GenesisError('key', '64 hex characters (the tablet shows its public key on its set-up screen)');
  }
  const next = parseGenesisText(JSON.stringify({ ...g, clinics: [...g.clinics, { id, name: opts.name, nodeKey: key, validator: opts.validator ?? true }] }));
  writeGenesis(opts.dir, next);
  return next;
}

/** The development consortium `npm start` uses when no genesis is configured: created on first start. */
export async function ensureDevConsortium(dir: string, clinics = 4): Promise<{ genesis: Genesis; created: boolean }> {
  if (existsSync(join(dir, GENESIS_FILE))) return { genesis: readGenesis(dir), created: false };
  const { genesis } = await initConsortium({ dir, clinics });
  return { genesis, created: true };
}

/** A development clinic's key file, or undefined when there is none (a real consortium has none). */
export function readDevKey(dir: string, clinicId: string): DevKeyFile | undefined {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(clinicId)) return undefined;
  const path = join(dir, 'keys', `${clinicId}.json`);
  if (!existsSync(path)) return undefined;
  const k = JSON.parse(readFileSync(path, 'utf8')) as DevKeyFile;
  return k;
}
