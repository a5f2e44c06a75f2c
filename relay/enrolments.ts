// One-time enrolment codes, as the relay knows them. A clinic shows a patient a one-time code and registers
// sha256(code) here (POST /v1/enrolments) with a short expiry; a phone that holds the code and is not yet
// registered on the ledger may then connect once, with a token scoped to that hash, and only to the topic
// `hygeia/enrol/v1/<hash>`, where only the registering clinic meets it. The code itself never reaches the
// relay: the clinic checks the phone's knowledge of it over their authenticated link.

const ENROL_TOPIC_PREFIX = 'hygeia/enrol/v1/';
/** Longest an enrolment may stay open. */
export const MAX_ENROLMENT_MS = 15 * 60_000;
/** Open enrolments one clinic key may hold at once (a desk enrols a few phones at a time, not thousands). */
export const MAX_ENROLMENTS_PER_CLINIC = 32;
const CODE_HASH = /^[0-9a-f]{64}$/;

export interface Enrolment {
  readonly codeHash: string;
  /** The clinic node key that registered it: the only clinic connection allowed in its topic. */
  readonly clinicKey: string;
  readonly expiresAt: number;
  /** The phone key that used it (its one connection), once used. */
  usedBy: string | null;
}

export type EnrolmentRefusal = 'bad-code-hash' | 'bad-expiry' | 'duplicate' | 'too-many';

export class EnrolmentError extends Error {
  override readonly name = 'EnrolmentError';
  constructor(readonly reason: EnrolmentRefusal) {
    super(`enrolment refused: ${reason}`);
  }
}

export function enrolTopic(codeHash: string): string {
  return `${ENROL_TOPIC_PREFIX}${codeHash}`;
}

/** The code hash an enrolment topic names, or null if the topic is not one. */
export function codeHashOfTopic(topic: string): string | null {
  if (!topic.startsWith(ENROL_TOPIC_PREFIX)) return null;
  const h = topic.slice(ENROL_TOPIC_PREFIX.length);
  return CODE_HASH.test(h) ? h : null;
}

export class EnrolmentRegistry {
  private readonly byHash = new Map<string, Enrolment>();

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.byHash.size;
  }

  /** Registers a code hash for a clinic key; throws EnrolmentError. */
  register(codeHash: string, clinicKey: string, expiresAt: number): Enrolment {
    this.sweep();
    const now = this.now();
    if (typeof codeHash !== 'string' || !CODE_HASH.test(codeHash)) throw new EnrolmentError('bad-code-hash');
    if (!Number.isSafeInteger(expiresAt) || expiresAt <= now || expiresAt > now + MAX_ENROLMENT_MS) throw new EnrolmentError('bad-expiry');
    if (this.byHash.has(codeHash)) throw new EnrolmentError('duplicate');
    let mine = 0;
    for (const e of this.byHash.values()) if (e.clinicKey === clinicKey) mine++;
    if (mine >= MAX_ENROLMENTS_PER_CLINIC) throw new EnrolmentError('too-many');
    const e: Enrolment = { codeHash, clinicKey, expiresAt, usedBy: null };
    this.byHash.set(codeHash, e);
    return e;
  }

  /** The open (unexpired) enrolment of a code hash. */
  get(codeHash: string): Enrolment | undefined {
    const e = this.byHash.get(codeHash);
    if (!e) return undefined;
    if (e.expiresAt <= this.now()) {
      this.byHash.delete(codeHash);
      return undefined;
    }
    return e;
  }

  /**
   * Marks an open enrolment used by `phoneKey` (the phone may reconnect with it until it expires); false if it
   * cannot be: unknown, expired, or used by another phone.
   */
  use(codeHash: string, phoneKey: string): boolean {
    const e = this.get(codeHash);
    if (!e || (e.usedBy !== null && e.usedBy !== phoneKey)) return false;
    e.usedBy = phoneKey;
    return true;
  }

  /** Forgets expired enrolments; returns them. */
  sweep(): Enrolment[] {
    const now = this.now();
    const gone: Enrolment[] = [];
    for (const [h, e] of this.byHash) {
      if (e.expiresAt <= now) {
        this.byHash.delete(h);
        gone.push(e);
      }
    }
    return gone;
  }
}
