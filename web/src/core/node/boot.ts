// How a page becomes a node. The URL decides the role: `/?role=patient` opens the patient app, anything else
// the clinic app; on the development consortium only, `/?dev=clinic-N` takes development clinic N's identity
// (the relay serves that seed to loopback pages only). A real tablet is set up once with a passphrase (or a
// passkey) and unlocked with it at every start; its secrets live sealed in the vault.
//
// The result is a small state machine the screens drive: `setup` → `locked` → `clinic` (or `patient`).
import { initCore, ed25519GenerateSecretKey, ed25519PublicKey, sha256 } from '../../../../wasm/index.ts';
import { systemClock } from '../consensus/index.ts';
import { IdbLedgerStore } from '../ledger/store.ts';
import { WebRtcTransport } from '../net/webrtc-transport.ts';
import { fromHex, toHex } from '../util/index.ts';
import { NodeError } from './api.ts';
import { ClinicNode } from './clinic-node.ts';
import { parseGenesis, type Genesis } from './genesis.ts';
import { Vault, type Unlock, type VaultSecrets } from './vault.ts';

export const CONSORTIUM_ROOM = 'hygeia/consortium/v1';

/** What the relay tells a page: the consortium's genesis and how to reach peers. */
export interface RelayConfig {
  readonly genesis: Genesis;
  readonly iceServers: RTCIceServer[];
  readonly iceTransportPolicy?: RTCIceTransportPolicy;
  /** True when the relay runs the development consortium (development identities, no passphrases). */
  readonly development: boolean;
}

export type AppSession =
  | { readonly kind: 'setup'; readonly role: 'clinic'; create(passphrase: string): Promise<AppSession> }
  | { readonly kind: 'locked'; readonly role: 'clinic'; readonly publicKey: string; unlock(u: Unlock): Promise<AppSession> }
  | { readonly kind: 'clinic'; readonly node: ClinicNode }
  | { readonly kind: 'failed'; readonly problem: string };

async function fetchJson(url: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { cache: 'no-store' });
  } catch {
    throw new NodeError('offline', 'The relay cannot be reached.');
  }
  if (!res.ok) throw new NodeError(res.status === 404 ? 'not-found' : 'offline', `The relay answered ${res.status}.`);
  return res.json();
}

export async function fetchRelayConfig(origin: string): Promise<RelayConfig> {
  const doc = (await fetchJson(`${origin}/v1/config`)) as { genesis: unknown; iceServers?: RTCIceServer[]; iceTransportPolicy?: RTCIceTransportPolicy; development?: boolean };
  return {
    genesis: parseGenesis(doc.genesis),
    iceServers: Array.isArray(doc.iceServers) ? doc.iceServers : [],
    ...(doc.iceTransportPolicy ? { iceTransportPolicy: doc.iceTransportPolicy } : {}),
    development: doc.development === true,
  };
}

/** A development clinic's key (clinic key derived from the seed, since nothing is sealed in development). */
async function devClinicSecrets(origin: string, clinicId: string): Promise<VaultSecrets> {
  const k = (await fetchJson(`${origin}/dev/identity/${encodeURIComponent(clinicId)}`)) as { seed?: string };
  if (typeof k.seed !== 'string') throw new NodeError('not-found', `No development identity ${clinicId}.`);
  const seed = fromHex(k.seed, 32);
  const label = new TextEncoder().encode('hygeia/dev/clinic-key/v1');
  const buf = new Uint8Array(label.length + 32);
  buf.set(label);
  buf.set(seed, label.length);
  return { seed, clinicKey: sha256(buf), meta: { dev: clinicId } };
}

/** Starts the clinic node for unlocked secrets, over WebRTC through the page's relay. */
export async function startClinic(origin: string, config: RelayConfig, secrets: VaultSecrets): Promise<ClinicNode> {
  if (!secrets.clinicKey) throw new NodeError('invalid', 'These secrets hold no clinic key.');
  const publicKey = toHex(ed25519PublicKey(secrets.seed));
  const prefix = `hygeia-${config.genesis.chainId}-${publicKey.slice(0, 16)}`;
  let node: ClinicNode | null = null;
  const transport = new WebRtcTransport({
    secretKey: secrets.seed,
    relayUrl: origin.replace(/^http/, 'ws'),
    room: CONSORTIUM_ROOM,
    isMember: (peer) => node?.isMemberNode(peer) ?? false,
    iceServers: config.iceServers,
    banMs: 10_000,
  });
  node = await ClinicNode.start({
    genesis: config.genesis,
    seed: secrets.seed,
    clinicKey: secrets.clinicKey,
    transport,
    clock: systemClock,
    dbPrefix: prefix,
    ledgerStore: await IdbLedgerStore.open(`${prefix}-ledger`),
  });
  return node;
}

/** Decides the page's role and brings the node up as far as it can without a person. */
export async function bootPage(loc: { origin: string; search: string }): Promise<AppSession> {
  await initCore();
  const params = new URLSearchParams(loc.search);
  let config: RelayConfig;
  try {
    config = await fetchRelayConfig(loc.origin);
  } catch (e) {
    return { kind: 'failed', problem: e instanceof Error ? e.message : String(e) };
  }
  const dev = params.get('dev');
  if (dev !== null) {
    if (!config.development) return { kind: 'failed', problem: 'Development identities exist only on a development consortium.' };
    try {
      return { kind: 'clinic', node: await startClinic(loc.origin, config, await devClinicSecrets(loc.origin, dev)) };
    } catch (e) {
      return { kind: 'failed', problem: e instanceof Error ? e.message : String(e) };
    }
  }
  const vault = await Vault.open(`hygeia-vault-clinic-${config.genesis.chainId}`);
  const unlocked = async (u: Unlock): Promise<AppSession> => ({ kind: 'clinic', node: await startClinic(loc.origin, config, await vault.unlock(u)) });
  const described = await vault.describe();
  if (described.exists) return { kind: 'locked', role: 'clinic', publicKey: described.publicKey, unlock: unlocked };
  return {
    kind: 'setup',
    role: 'clinic',
    async create(passphrase: string) {
      const seed = ed25519GenerateSecretKey();
      const clinicKey = globalThis.crypto.getRandomValues(new Uint8Array(32));
      const publicKey = toHex(ed25519PublicKey(seed));
      await vault.create({ seed, clinicKey, meta: {} }, { passphrase }, publicKey);
      seed.fill(0);
      clinicKey.fill(0);
      return unlocked({ passphrase });
    },
  };
}
