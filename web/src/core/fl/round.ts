// The round protocol's ledger side and the update wire format. A round is opened by a ledger transaction; each
// client's update bytes travel peer to peer while only their digest and sample count go on the ledger; the
// aggregate is computed over the ledger-agreed set, sorted by digest, so every honest node derives the same
// global model and commits the same digest.
import { decode, encode } from '../codec/index.ts';
import { sha256 } from '../../../../wasm/index.ts';
import { toHex } from '../util/index.ts';

export interface RoundParams {
  readonly round: number;
  readonly rule: string;
  /** Digest of the global model the round starts from. */
  readonly baseDigest: string;
  readonly maxUpdates: number;
}

export interface UpdateEntry {
  readonly round: number;
  readonly client: string;
  readonly digest: string;
  readonly samples: number;
}

export type LedgerAnswer = { ok: true } | { ok: false; reason: 'no-such-round' | 'round-closed' | 'duplicate' | 'full' | 'bad-entry' };

/** What the federation needs from the ledger; the PBFT ledger implements it with committed transactions. */
export interface RoundLedger {
  openRound(params: RoundParams): LedgerAnswer;
  submitUpdate(entry: UpdateEntry): LedgerAnswer;
  /** Closes submissions and returns the agreed updates, sorted by digest. */
  closeRound(round: number): UpdateEntry[];
  /** Records one node's global digest for the round. */
  commitGlobal(round: number, node: string, digest: string): void;
  /** The digest every committing node agreed on, or undefined if they disagree or none committed. */
  agreedGlobal(round: number): string | undefined;
}

export class MemoryRoundLedger implements RoundLedger {
  private readonly rounds = new Map<number, { params: RoundParams; open: boolean; updates: Map<string, UpdateEntry>; commits: Map<string, string> }>();

  openRound(params: RoundParams): LedgerAnswer {
    if (this.rounds.has(params.round)) return { ok: false, reason: 'duplicate' };
    this.rounds.set(params.round, { params, open: true, updates: new Map(), commits: new Map() });
    return { ok: true };
  }

  submitUpdate(entry: UpdateEntry): LedgerAnswer {
    const r = this.rounds.get(entry.round);
    if (!r) return { ok: false, reason: 'no-such-round' };
    if (!r.open) return { ok: false, reason: 'round-closed' };
    if (!/^[0-9a-f]{64}$/.test(entry.digest) || !(entry.samples > 0)) return { ok: false, reason: 'bad-entry' };
    if (r.updates.has(entry.client)) return { ok: false, reason: 'duplicate' };
    if (r.updates.size >= r.params.maxUpdates) return { ok: false, reason: 'full' };
    r.updates.set(entry.client, entry);
    return { ok: true };
  }

  closeRound(round: number): UpdateEntry[] {
    const r = this.rounds.get(round);
    if (!r) return [];
    r.open = false;
    return [...r.updates.values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  }

  commitGlobal(round: number, node: string, digest: string): void {
    this.rounds.get(round)?.commits.set(node, digest);
  }

  agreedGlobal(round: number): string | undefined {
    const commits = [...(this.rounds.get(round)?.commits.values() ?? [])];
    if (commits.length === 0) return undefined;
    return commits.every((d) => d === commits[0]) ? commits[0] : undefined;
  }
}

/** Canonical update bytes: round, client, samples, then the float32 delta (little-endian). */
export function encodeUpdate(round: number, client: string, samples: number, delta: Float32Array): Uint8Array {
  const raw = new Uint8Array(delta.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < delta.length; i++) view.setFloat32(i * 4, delta[i]!, true);
  return encode((w) => {
    w.uint(round);
    w.str(client);
    w.uint(samples);
    w.bytes(raw);
  });
}

export const MAX_UPDATE_BYTES = 16 << 20;

export function decodeUpdate(bytes: Uint8Array): { round: number; client: string; samples: number; delta: Float32Array } {
  return decode(
    bytes,
    (r) => {
      const round = r.uint();
      const client = r.str(256);
      const samples = r.uint();
      const raw = r.bytes(MAX_UPDATE_BYTES);
      const delta = new Float32Array(raw.length >> 2);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let i = 0; i < delta.length; i++) delta[i] = view.getFloat32(i * 4, true);
      return { round, client, samples, delta };
    },
    MAX_UPDATE_BYTES + 1024,
  );
}

export function digestHex(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}

/** Digest of a model's weights: SHA-256 over their float32 little-endian bytes. */
export function weightsDigest(weights: Float32Array): string {
  const raw = new Uint8Array(weights.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < weights.length; i++) view.setFloat32(i * 4, weights[i]!, true);
  return digestHex(raw);
}
