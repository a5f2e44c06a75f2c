// Who a token says is knocking, checked cheapest first (finding 11): an address that keeps failing is turned
// away before any work; then the token's encoding, origin and expiry; then the ledger's membership lookup (a
// map read) or the enrolment it is scoped to; then single use (a token opens one connection or one request,
// finding 10); and only then the Ed25519 signature. Every refusal says why, never with the token in it.

import { RelayTokenError, checkRelayTokenClaims, checkRelayTokenSignature, decodeRelayToken, type DecodedRelayToken } from '../web/src/core/net/relay-token.ts';
import type { EnrolmentRegistry } from './enrolments.ts';
import { TokenBucket, type RelayLimits } from './limits.ts';
import type { RejectionReason } from './metrics.ts';

export type Role = 'clinic' | 'patient' | 'enrolling';

export interface Principal {
  /** Lowercase hex of the key the token proved. */
  readonly key: string;
  readonly role: Role;
  /** For an enrolling phone: the code hash its token is scoped to. */
  readonly codeHash: string | null;
  /** When the token stops being valid (ms since the epoch). */
  readonly tokenExpiresAt: number;
}

export type AuthResult = { readonly principal: Principal } | { readonly status: 401 | 403 | 429; readonly reason: RejectionReason };

export interface Membership {
  /** The key's role on the relay's verified ledger, or null. */
  roleOf(publicKeyHex: string): 'clinic' | 'patient' | null;
}

const TOKEN_ERROR_REASON: Partial<Record<RelayTokenError['code'], RejectionReason>> = {
  expired: 'expired-token',
  'wrong-relay': 'wrong-relay',
};

/** Failed attempts per remote address: a bucket per address, the oldest forgotten beyond `maxAddresses`. */
export class FailureLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly perMinute: number,
    private readonly burst: number,
    private readonly now: () => number,
    private readonly maxAddresses = 10_000,
  ) {}

  /** Whether this address may try now (it has not used up its failures). */
  allowed(address: string): boolean {
    const b = this.buckets.get(address);
    return !b || b.available(this.now()) >= 1;
  }

  failed(address: string): void {
    let b = this.buckets.get(address);
    if (!b) {
      if (this.buckets.size >= this.maxAddresses) this.buckets.delete(this.buckets.keys().next().value!);
      b = new TokenBucket(this.perMinute / 60, this.burst, this.now());
      this.buckets.set(address, b);
    }
    b.take(this.now());
  }
}

/** Tokens already used, until they expire: a token is good for one connection or one request. */
export class SeenTokens {
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxEntries = 200_000) {}

  get size(): number {
    return this.seen.size;
  }

  has(t: DecodedRelayToken): boolean {
    return this.seen.has(`${t.publicKey}:${t.nonce}`);
  }

  /** Records a verified token; false if it was seen before or the table is full of live tokens. */
  add(t: DecodedRelayToken, now: number, skewMs: number): boolean {
    const id = `${t.publicKey}:${t.nonce}`;
    if (this.seen.has(id)) return false;
    if (this.seen.size >= this.maxEntries) {
      this.sweep(now, skewMs);
      if (this.seen.size >= this.maxEntries) return false;
    }
    this.seen.set(id, t.expiresAt);
    return true;
  }

  sweep(now: number, skewMs: number): void {
    for (const [id, exp] of this.seen) if (exp + skewMs < now) this.seen.delete(id);
  }
}

export interface RelayAuthOptions {
  readonly membership: Membership;
  readonly enrolments: EnrolmentRegistry;
  readonly limits: RelayLimits;
  /** Origins a token may be bound to (read at each call: they are known once the relay listens). */
  readonly origins: () => readonly string[];
  readonly now?: () => number;
}

export class RelayAuth {
  private readonly failures: FailureLimiter;
  private readonly seen = new SeenTokens();
  private readonly now: () => number;

  constructor(private readonly opts: RelayAuthOptions) {
    this.now = opts.now ?? Date.now;
    this.failures = new FailureLimiter(opts.limits.failedTokensPerMinute, opts.limits.failedTokenBurst, this.now);
  }

  /** Checks a token from `address`; the principal it proves, or why not. A success uses the token up. */
  authenticate(token: string | null, address: string): AuthResult {
    if (!this.failures.allowed(address)) return { status: 429, reason: 'too-many-failures' };
    const result = this.check(token);
    if ('reason' in result) this.failures.failed(address);
    return result;
  }

  /** Forgets used tokens that have expired (the relay's heartbeat calls it). */
  sweep(): void {
    this.seen.sweep(this.now(), this.opts.limits.clockSkewMs);
  }

  private check(token: string | null): AuthResult {
    if (!token) return { status: 401, reason: 'no-token' };
    const { limits } = this.opts;
    const now = this.now();
    let t: DecodedRelayToken;
    try {
      t = decodeRelayToken(token);
      checkRelayTokenClaims(t, { origins: this.opts.origins(), now, maxLifetimeMs: limits.maxTokenLifetimeMs, clockSkewMs: limits.clockSkewMs });
    } catch (err) {
      if (err instanceof RelayTokenError) return { status: 401, reason: TOKEN_ERROR_REASON[err.code] ?? 'bad-token' };
      throw err;
    }
    const ledgerRole = this.opts.membership.roleOf(t.publicKey);
    let role: Role;
    let codeHash: string | null = null;
    if (t.scope === '') {
      if (!ledgerRole) return { status: 401, reason: 'not-member' };
      role = ledgerRole;
    } else {
      // An enrolment token: for a key the ledger does not know yet, and an open enrolment not taken by another.
      codeHash = t.scope.slice('enrol:'.length);
      const e = this.opts.enrolments.get(codeHash);
      if (ledgerRole || !e || (e.usedBy !== null && e.usedBy !== t.publicKey)) return { status: 401, reason: 'enrolment-closed' };
      role = 'enrolling';
    }
    if (this.seen.has(t)) return { status: 401, reason: 'replayed-token' };
    try {
      checkRelayTokenSignature(t);
    } catch (err) {
      if (err instanceof RelayTokenError) return { status: 401, reason: 'bad-token' };
      throw err;
    }
    // Recorded only once it verified, so forged tokens cannot fill the table.
    if (!this.seen.add(t, now, limits.clockSkewMs)) return { status: 429, reason: 'busy' };
    if (codeHash !== null && !this.opts.enrolments.use(codeHash, t.publicKey)) return { status: 401, reason: 'enrolment-closed' };
    return { principal: { key: t.publicKey, role, codeHash, tokenExpiresAt: t.expiresAt } };
  }
}
