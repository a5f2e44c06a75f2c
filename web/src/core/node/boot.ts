// How a page becomes a node. The URL decides the role: `/?role=patient` opens the patient app, anything else
// the clinic app; on the development consortium only, `/?dev=clinic-N` takes development clinic N's identity
// (the relay serves that seed to loopback pages only). A real tablet is set up once with a passphrase or a
// passkey and unlocked with it at every start; its secrets live sealed in the vault. A development identity,
// and a phone while the development consortium runs, start without asking ("open").
import { initCore, ed25519GenerateSecretKey, ed25519PublicKey } from '../../../../wasm/index.ts';
import { WebRtcTransport } from '../net/webrtc.ts';
import { RelayClient } from '../net/index.ts';
import { fromHex, toHex } from '../util/index.ts';
import { NodeError, type ClinicApi } from './api.ts';
import { RemoteClinic } from './clinic-remote.ts';
import { PatientClient, type BundleVerifier } from './patient-client.ts';
import { PhoneVerifier } from './patient-verify.ts';

/** The phone's own checks of what clinics serve it (attested headers, state proofs, completeness). */
export function verifierFor(genesis: Genesis): BundleVerifier {
  const v = new PhoneVerifier(genesis);
  return (bundle, pseudonym) => v.check(bundle, pseudonym);
}
import { parseGenesis, type Genesis } from './genesis.ts';
import { Vault, type Unlock, type VaultSecrets } from './vault.ts';
import { deriveSecret } from './staff-keys.ts';

export const CONSORTIUM_ROOM = 'hygeia/consortium/v1';
export const PATIENTS_ROOM = 'hygeia/patients/v1';
const ENROL_ROOM_PREFIX = 'hygeia/enrol/v1/';

/** What the relay tells a page: the consortium's genesis and how to reach peers. */
export interface RelayConfig {
  readonly genesis: Genesis;
  readonly iceServers: RTCIceServer[];
  readonly iceTransportPolicy?: RTCIceTransportPolicy;
  /** True when the relay runs the development consortium (development identities, no passphrases). */
  readonly development: boolean;
}

/** How a person unlocks the device: a passphrase, or a passkey's WebAuthn PRF output for the stored salt. */
export type UnlockSecret =
  | { readonly kind: 'passphrase'; readonly passphrase: string }
  | { readonly kind: 'passkey'; readonly credentialId: string; readonly prfSalt: Uint8Array; readonly prfOutput: Uint8Array };

/** A role's device before it runs: whether it needs setting up or unlocking, and how. */
export interface Opened<Api> {
  readonly role: 'clinic' | 'patient';
  /** 'open': nothing to unlock (development); 'new': set up this device; 'locked': unlock it. */
  lockState(): 'open' | 'new' | 'locked';
  /** This device's public key once it has one (shown on the set-up and admission screens). */
  publicKey(): string | null;
  /** The passkey this device can be unlocked with, if one was added. */
  passkey(): { credentialId: string; prfSalt: string } | null;
  setUp(s: UnlockSecret): Promise<Api>;
  /** A wrong passphrase rejects with NodeError('wrong-passphrase') and changes nothing. */
  unlock(s: UnlockSecret): Promise<Api>;
  /** When lockState() is 'open'. */
  start(): Promise<Api>;
}

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

/**
 * A page that starts offline (the PWA from its cache) uses what it last fetched: the consortium's public
 * configuration, and in development the development identity (nothing of it is secret from this machine).
 */
async function fetchCached(url: string, key: string): Promise<unknown> {
  try {
    const doc = await fetchJson(url);
    try {
      globalThis.localStorage?.setItem(key, JSON.stringify(doc));
    } catch {
      // storage full or unavailable: the next offline start will say it cannot reach the relay
    }
    return doc;
  } catch (e) {
    const kept = e instanceof NodeError && e.code === 'offline' ? globalThis.localStorage?.getItem(key) : null;
    if (!kept) throw e;
    return JSON.parse(kept) as unknown;
  }
}

async function fetchRelayConfig(origin: string): Promise<RelayConfig> {
  const doc = (await fetchCached(`${origin}/v1/config`, `hygeia/v1/config`)) as {
    genesis: unknown;
    iceServers?: RTCIceServer[];
    iceTransportPolicy?: RTCIceTransportPolicy;
    development?: boolean;
  };
  return {
    genesis: parseGenesis(doc.genesis),
    iceServers: Array.isArray(doc.iceServers) ? doc.iceServers : [],
    ...(doc.iceTransportPolicy ? { iceTransportPolicy: doc.iceTransportPolicy } : {}),
    development: doc.development === true,
  };
}

function toUnlock(s: UnlockSecret): Unlock {
  return s.kind === 'passphrase' ? { passphrase: s.passphrase } : { prf: s.prfOutput, credentialId: s.credentialId };
}

/** A development clinic's secrets (its clinic key is derived from the seed: nothing is sealed in development). */
async function devClinicSecrets(origin: string, clinicId: string): Promise<VaultSecrets> {
  const k = (await fetchCached(`${origin}/dev/identity/${encodeURIComponent(clinicId)}`, `hygeia/dev/identity/${clinicId}`)) as { seed?: string };
  if (typeof k.seed !== 'string') throw new NodeError('not-found', `No development identity ${clinicId}.`);
  const seed = fromHex(k.seed, 32);
  return { seed, clinicKey: deriveSecret('hygeia/dev/clinic-key/v1', seed), meta: { dev: clinicId } };
}

/**
 * Starts the clinic node for unlocked secrets, in a Web Worker (clinic-worker.ts), over WebRTC rooms the page
 * keeps: the replica, the contracts, the records and the learning stay off the main thread that draws the
 * screens.
 */
async function startClinic(origin: string, config: RelayConfig, secrets: VaultSecrets): Promise<ClinicApi> {
  if (!secrets.clinicKey) throw new NodeError('invalid', 'These secrets hold no clinic key.');
  const publicKey = toHex(ed25519PublicKey(secrets.seed));
  const prefix = `hygeia-${config.genesis.chainId}-${publicKey.slice(0, 16)}`;
  const relayUrl = origin.replace(/^http/, 'ws');
  const relay = new RelayClient({ relayUrl, secretKey: secrets.seed });
  // TURN credentials come only to a member that asks with its token; offline or not yet a member, the public
  // configuration (STUN only) will do until the next start.
  const iceServers = await relay.config().then(
    (c) => c.iceServers,
    () => config.iceServers,
  );
  let clinic: (RemoteClinic & ClinicApi) | null = null;
  const transport = (room: string, isMember: (peer: string) => boolean): WebRtcTransport =>
    new WebRtcTransport({
      secretKey: secrets.seed,
      relayUrl,
      room,
      isMember,
      iceServers,
      ...(config.iceTransportPolicy ? { iceTransportPolicy: config.iceTransportPolicy } : {}),
      banMs: 10_000,
    });
  // The members' room: clinics the ledger names. The patients' room: phones the ledger registered.
  clinic = await RemoteClinic.start({
    worker: new Worker(new URL('../../workers/clinic-node.ts', import.meta.url), { type: 'module', name: 'clinic-node' }),
    start: { genesis: config.genesis, seed: secrets.seed, clinicKey: secrets.clinicKey, relayUrl, dbPrefix: prefix },
    self: publicKey,
    rooms: (c) => ({
      members: transport(CONSORTIUM_ROOM, (peer) => c.isMemberNode(peer)),
      phones: transport(PATIENTS_ROOM, (peer) => c.isPatientDevice(peer)),
    }),
    // A one-time code: the relay learns its hash, and this tablet waits for the phone in the code's room
    // until the code expires (any key may knock there; the code itself is checked over the link).
    onEnrolment: (codeHash, expiresAt) => {
      void relay
        .registerEnrolment(codeHash, expiresAt)
        .then(() => {
          const room = transport(`${ENROL_ROOM_PREFIX}${codeHash}`, () => true);
          const detach = clinic!.attachRoom(`enrol:${codeHash}`, room);
          setTimeout(
            () => {
              detach();
              void room.close();
            },
            Math.max(0, expiresAt - Date.now()),
          );
        })
        .catch(() => clinic?.reportProblem('The relay did not accept the phone code; ask again in a moment.'));
    },
  });
  return clinic;
}

/** Opens the clinic role of this page: a development identity, or this tablet's vault. */
export async function openClinic(opts: { origin: string; dev?: string | null }): Promise<Opened<ClinicApi>> {
  await initCore();
  const config = await fetchRelayConfig(opts.origin);
  if (opts.dev) {
    if (!config.development) throw new NodeError('invalid', 'Development identities exist only on a development consortium.');
    const secrets = await devClinicSecrets(opts.origin, opts.dev);
    const start = (): Promise<ClinicApi> => startClinic(opts.origin, config, secrets);
    const pk = toHex(ed25519PublicKey(secrets.seed));
    return { role: 'clinic', lockState: () => 'open', publicKey: () => pk, passkey: () => null, setUp: start, unlock: start, start };
  }
  const vault = await Vault.open(`hygeia-vault-clinic-${config.genesis.chainId}`);
  let described = await vault.describe();
  const unlock = async (s: UnlockSecret): Promise<ClinicApi> => startClinic(opts.origin, config, await vault.unlock(toUnlock(s)));
  return {
    role: 'clinic',
    lockState: () => (described.exists ? 'locked' : 'new'),
    publicKey: () => (described.exists ? described.publicKey : null),
    passkey: () => {
      const slot = described.exists ? described.slots.find((s) => s.kind === 'passkey') : undefined;
      return slot?.credentialId && slot.prfSalt ? { credentialId: slot.credentialId, prfSalt: slot.prfSalt } : null;
    },
    async setUp(s) {
      const seed = ed25519GenerateSecretKey();
      const clinicKey = globalThis.crypto.getRandomValues(new Uint8Array(32));
      await vault.create({ seed, clinicKey, meta: {} }, toUnlock(s), toHex(ed25519PublicKey(seed)), s.kind === 'passkey' ? s.prfSalt : undefined);
      seed.fill(0);
      clinicKey.fill(0);
      described = await vault.describe();
      return unlock(s);
    },
    unlock,
    start: () => Promise.reject(new NodeError('locked', 'Unlock this tablet first.')),
  };
}

/** Starts the patient app for an unlocked phone key: its clinics over WebRTC in the patients' room. */
export async function startPatient(origin: string, config: RelayConfig, seed: Uint8Array): Promise<PatientClient> {
  const relayUrl = origin.replace(/^http/, 'ws');
  const clinics = new Set(config.genesis.clinics.map((c) => c.nodeKey));
  const transport = (room: string, scope?: string): WebRtcTransport =>
    new WebRtcTransport({
      secretKey: seed,
      relayUrl,
      room,
      isMember: (peer) => clinics.has(peer),
      iceServers: config.iceServers,
      ...(config.iceTransportPolicy ? { iceTransportPolicy: config.iceTransportPolicy } : {}),
      ...(scope ? { scope } : {}),
      banMs: 10_000,
    });
  const main = transport(PATIENTS_ROOM);
  return PatientClient.start({
    genesis: config.genesis,
    seed,
    network: {
      main,
      async enrolment(codeHash) {
        const t = transport(`${ENROL_ROOM_PREFIX}${codeHash}`, `enrol:${codeHash}`);
        return { transport: t, close: () => t.close() };
      },
    },
    dbName: `hygeia-phone-${config.genesis.chainId}-${toHex(ed25519PublicKey(seed)).slice(0, 16)}`,
    verify: verifierFor(config.genesis),
  });
}

/** Opens the patient role: on the development consortium the phone starts without asking (a device key). */
export async function openPatient(opts: { origin: string }): Promise<Opened<PatientClient>> {
  await initCore();
  const config = await fetchRelayConfig(opts.origin);
  const vault = await Vault.open(`hygeia-vault-patient-${config.genesis.chainId}`);
  let described = await vault.describe();
  const unlock = async (s: UnlockSecret | { kind: 'device' }): Promise<PatientClient> => {
    const secrets = await vault.unlock(s.kind === 'device' ? { device: true } : toUnlock(s));
    return startPatient(opts.origin, config, secrets.seed);
  };
  const create = async (u: Unlock, prfSalt?: Uint8Array): Promise<void> => {
    const seed = ed25519GenerateSecretKey();
    await vault.create({ seed, clinicKey: null, meta: {} }, u, toHex(ed25519PublicKey(seed)), prfSalt);
    seed.fill(0);
    described = await vault.describe();
  };
  const open = config.development && (!described.exists || described.slots.some((x) => x.kind === 'device'));
  return {
    role: 'patient',
    lockState: () => (open ? 'open' : described.exists ? 'locked' : 'new'),
    publicKey: () => (described.exists ? described.publicKey : null),
    passkey: () => {
      const slot = described.exists ? described.slots.find((x) => x.kind === 'passkey') : undefined;
      return slot?.credentialId && slot.prfSalt ? { credentialId: slot.credentialId, prfSalt: slot.prfSalt } : null;
    },
    async setUp(s) {
      await create(toUnlock(s), s.kind === 'passkey' ? s.prfSalt : undefined);
      return unlock(s);
    },
    unlock,
    async start() {
      if (!open) throw new NodeError('locked', 'Unlock this phone first.');
      if (!described.exists) await create({ device: true });
      return unlock({ kind: 'device' });
    },
  };
}
