// How the relay checks a token (findings 10 and 11): lifetimes of minutes, one use per token, the ledger's
// membership lookup before any Ed25519 verification, and an address that keeps failing turned away before
// any work at all; enrolment tokens only for an open enrolment and a key the ledger does not know.
import { beforeAll, describe, expect, it } from 'vitest';
import { ed25519PublicKey, initCore } from '../../../wasm/index.ts';
import { RelayAuth, type AuthResult } from '../../../relay/auth.ts';
import { EnrolmentRegistry } from '../../../relay/enrolments.ts';
import { DEFAULT_LIMITS } from '../../../relay/limits.ts';
import { createRelayToken, enrolmentScope } from '../../../web/src/core/net/index.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';

const rng = new Prng(99);
const URL = 'ws://127.0.0.1:8080';
const clinicSeed = rng.bytes(32);
const patientSeed = rng.bytes(32);
const strangerSeed = rng.bytes(32);
const CODE = 'cd'.repeat(32);
let clinic: string;
let patient: string;

beforeAll(async () => {
  await initCore();
  clinic = toHex(ed25519PublicKey(clinicSeed));
  patient = toHex(ed25519PublicKey(patientSeed));
});

function setup() {
  const clock = { now: 1_800_000_000_000 };
  const enrolments = new EnrolmentRegistry(() => clock.now);
  let roleLookups = 0;
  const auth = new RelayAuth({
    membership: {
      roleOf: (k) => {
        roleLookups++;
        return k === clinic ? 'clinic' : k === patient ? 'patient' : null;
      },
    },
    enrolments,
    limits: DEFAULT_LIMITS,
    origins: () => [URL],
    now: () => clock.now,
  });
  const token = (seed: Uint8Array, lifetimeMs = 60_000, scope = '') => createRelayToken({ secretKey: seed, relayUrl: URL, expiresAt: clock.now + lifetimeMs, scope });
  return { auth, clock, enrolments, token, lookups: () => roleLookups };
}

const reason = (r: AuthResult): string => ('reason' in r ? r.reason : r.principal.role);

/** The same claims with another key's signature: well formed, and its signature does not verify. */
function forged(token: string, other: string): string {
  const bytes = Buffer.from(token, 'base64url');
  Buffer.from(other, 'base64url').copy(bytes, bytes.length - 64, Buffer.from(other, 'base64url').length - 64);
  return bytes.toString('base64url');
}

describe('RelayAuth', () => {
  it('admits a member and a registered patient with the role the ledger gives them', () => {
    const { auth, token } = setup();
    expect(auth.authenticate(token(clinicSeed), '127.0.0.1')).toEqual({ principal: { key: clinic, role: 'clinic', codeHash: null, tokenExpiresAt: expect.any(Number) } });
    expect(reason(auth.authenticate(token(patientSeed), '127.0.0.1'))).toBe('patient');
  });

  it('looks membership up before verifying the signature: a stranger with a bad signature is "not-member"', () => {
    const { auth, token } = setup();
    // Before the fix a bad signature was found first (Ed25519 ran for every stranger); now the map read says no.
    expect(reason(auth.authenticate(forged(token(strangerSeed), token(clinicSeed)), '10.0.0.1'))).toBe('not-member');
    expect(reason(auth.authenticate(forged(token(clinicSeed), token(strangerSeed)), '10.0.0.2'))).toBe('bad-token');
  });

  it('accepts each token once (finding 10: one token, one connection)', () => {
    const { auth, token } = setup();
    const t = token(clinicSeed);
    expect(reason(auth.authenticate(t, '127.0.0.1'))).toBe('clinic');
    expect(auth.authenticate(t, '127.0.0.1')).toEqual({ status: 401, reason: 'replayed-token' });
    // A forged token never enters the table of used ones, so it cannot lock out the real one.
    const real = token(clinicSeed);
    const copy = forged(real, token(strangerSeed));
    expect(reason(auth.authenticate(copy, '10.0.0.3'))).toBe('bad-token');
    expect(reason(auth.authenticate(real, '127.0.0.1'))).toBe('clinic');
  });

  it('refuses tokens that live longer than minutes (finding 10: once 24 hours)', () => {
    const { auth, token } = setup();
    expect(DEFAULT_LIMITS.maxTokenLifetimeMs).toBeLessThanOrEqual(10 * 60_000);
    expect(reason(auth.authenticate(token(clinicSeed, 30 * 60_000), '127.0.0.1'))).toBe('bad-token');
    expect(reason(auth.authenticate(token(clinicSeed, 5 * 60_000), '127.0.0.1'))).toBe('clinic');
  });

  it('turns an address away after repeated failures, before any check, and lets it back after a while (finding 11)', () => {
    const { auth, token, clock, lookups } = setup();
    for (let i = 0; i < DEFAULT_LIMITS.failedTokenBurst; i++) expect(reason(auth.authenticate(token(strangerSeed), '10.9.9.9'))).toBe('not-member');
    const before = lookups();
    // Even a valid token from that address is refused now, without a lookup or a signature check.
    expect(auth.authenticate(token(clinicSeed), '10.9.9.9')).toEqual({ status: 429, reason: 'too-many-failures' });
    expect(lookups()).toBe(before);
    // Another address is not affected.
    expect(reason(auth.authenticate(token(clinicSeed), '10.9.9.10'))).toBe('clinic');
    clock.now += 60_000;
    expect(reason(auth.authenticate(token(clinicSeed), '10.9.9.9'))).toBe('clinic');
  });

  it('admits a phone with an enrolment token only for an open enrolment, once, and not for a known key', () => {
    const { auth, token, enrolments, clock } = setup();
    const scope = enrolmentScope(CODE);
    expect(reason(auth.authenticate(token(strangerSeed, 60_000, scope), '10.1.1.1'))).toBe('enrolment-closed');
    enrolments.register(CODE, clinic, clock.now + 60_000);
    const phone = auth.authenticate(token(strangerSeed, 60_000, scope), '10.1.1.1');
    expect(phone).toMatchObject({ principal: { role: 'enrolling', codeHash: CODE } });
    // The same phone may reconnect; another phone may not use the code.
    expect(reason(auth.authenticate(token(strangerSeed, 60_000, scope), '10.1.1.1'))).toBe('enrolling');
    expect(reason(auth.authenticate(token(rng.bytes(32), 60_000, scope), '10.1.1.2'))).toBe('enrolment-closed');
    // A key the ledger knows uses its normal token.
    expect(reason(auth.authenticate(token(patientSeed, 60_000, scope), '10.1.1.3'))).toBe('enrolment-closed');
    clock.now += 61_000;
    expect(reason(auth.authenticate(token(strangerSeed, 60_000, scope), '10.1.1.1'))).toBe('enrolment-closed');
  });

  it('says what is wrong with malformed, expired and misdirected tokens', () => {
    const { auth, token, clock } = setup();
    expect(reason(auth.authenticate(null, 'a'))).toBe('no-token');
    expect(reason(auth.authenticate('not a token', 'b'))).toBe('bad-token');
    const t = token(clinicSeed);
    clock.now += 10 * 60_000;
    expect(reason(auth.authenticate(t, 'c'))).toBe('expired-token');
    expect(reason(auth.authenticate(createRelayToken({ secretKey: clinicSeed, relayUrl: 'ws://elsewhere:1', expiresAt: clock.now + 1000 }), 'd'))).toBe('wrong-relay');
  });
});
