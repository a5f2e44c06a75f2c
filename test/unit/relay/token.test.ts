// Relay tokens: canonical bytes, bound to the relay's origin, an expiry, a nonce and a scope, signed by the member.
import { describe, expect, it } from 'vitest';
import { ed25519PublicKey } from '../../../wasm/index.ts';
import { createRelayToken, decodeRelayToken, enrolmentScope, relayOrigin, RelayTokenError, verifyRelayToken, withToken } from '../../../web/src/core/net/index.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';
import { thrown } from '../shared/thrown.ts';
import { useCore } from '../shared/core.ts';

const rng = new Prng(77);
const sk = rng.bytes(32);
const NOW = 1_800_000_000_000;
const opts = { origins: ['ws://127.0.0.1:8080'], now: NOW, maxLifetimeMs: 3600_000, clockSkewMs: 60_000 };

useCore();

const code = (fn: () => unknown): string => thrown(fn, RelayTokenError, (e) => e.code, 'no error');

describe('relay tokens', () => {
  it('round-trips the claims and verifies', () => {
    const token = createRelayToken({ secretKey: sk, relayUrl: 'ws://127.0.0.1:8080/any/path?x=1', expiresAt: NOW + 60_000 });
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    const claims = verifyRelayToken(token, opts);
    expect(claims).toEqual({ publicKey: toHex(ed25519PublicKey(sk)), relayOrigin: 'ws://127.0.0.1:8080', expiresAt: NOW + 60_000, scope: '' });
    expect(decodeRelayToken(token).signature).toHaveLength(64);
  });

  it('refuses each kind of bad token with its own code', () => {
    const token = createRelayToken({ secretKey: sk, relayUrl: 'ws://127.0.0.1:8080', expiresAt: NOW + 60_000 });
    expect(code(() => verifyRelayToken(token, { ...opts, origins: ['ws://127.0.0.1:9090'] }))).toBe('wrong-relay');
    expect(code(() => verifyRelayToken(token, { ...opts, now: NOW + 60_000 + 60_001 }))).toBe('expired');
    expect(code(() => verifyRelayToken(token, { ...opts, maxLifetimeMs: 1000, clockSkewMs: 0 }))).toBe('too-long-lived');
    expect(code(() => verifyRelayToken(`${token}A`, opts))).toBe('malformed');
    expect(code(() => verifyRelayToken('', opts))).toBe('malformed');
    expect(code(() => verifyRelayToken('x'.repeat(5000), opts))).toBe('malformed');
    // Flip one bit in every position of the signed body: never accepted.
    const bytes = Buffer.from(token, 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      const copy = Buffer.from(bytes);
      copy[i]! ^= 0x01;
      expect(['malformed', 'bad-signature', 'wrong-relay', 'expired', 'too-long-lived']).toContain(code(() => verifyRelayToken(copy.toString('base64url'), opts)));
    }
    // Trailing bytes after the signature: not canonical.
    expect(code(() => verifyRelayToken(Buffer.concat([bytes, Buffer.from([0])]).toString('base64url'), opts))).toBe('malformed');
  });

  it('binds the origin only, normalised', () => {
    expect(relayOrigin('WS://LocalHost:80/x')).toBe('ws://localhost');
    expect(relayOrigin('wss://relay.example:443/')).toBe('wss://relay.example');
    expect(code(() => relayOrigin('http://relay.example'))).toBe('bad-url');
    expect(code(() => relayOrigin('not a url'))).toBe('bad-url');
    expect(withToken('ws://h:1/p?token=old&a=b', 'new')).toBe('ws://h:1/p?token=new&a=b');
  });

  it('refuses bad inputs when creating', () => {
    expect(code(() => createRelayToken({ secretKey: new Uint8Array(31), relayUrl: 'ws://h', expiresAt: NOW }))).toBe('bad-key');
    expect(code(() => createRelayToken({ secretKey: sk, relayUrl: 'ws://h', expiresAt: -1 }))).toBe('bad-expiry');
    expect(code(() => createRelayToken({ secretKey: sk, relayUrl: 'ws://h', expiresAt: 1.5 }))).toBe('bad-expiry');
    expect(code(() => createRelayToken({ secretKey: sk, relayUrl: 'ws://h', expiresAt: NOW, scope: 'admin' }))).toBe('bad-scope');
    expect(code(() => createRelayToken({ secretKey: sk, relayUrl: 'ws://h', expiresAt: NOW, scope: 'enrol:abc' }))).toBe('bad-scope');
  });

  it('gives every token its own nonce, so two made in the same millisecond are two tokens', () => {
    const a = createRelayToken({ secretKey: sk, relayUrl: 'ws://127.0.0.1:8080', expiresAt: NOW + 60_000 });
    const b = createRelayToken({ secretKey: sk, relayUrl: 'ws://127.0.0.1:8080', expiresAt: NOW + 60_000 });
    expect(a).not.toBe(b);
    expect(decodeRelayToken(a).nonce).not.toBe(decodeRelayToken(b).nonce);
    expect(decodeRelayToken(a).nonce).toMatch(/^[0-9a-f]{32}$/);
  });

  it('carries an enrolment scope, signed like the rest', () => {
    const scope = enrolmentScope('ab'.repeat(32));
    const token = createRelayToken({ secretKey: sk, relayUrl: 'ws://127.0.0.1:8080', expiresAt: NOW + 60_000, scope });
    expect(verifyRelayToken(token, opts).scope).toBe(scope);
  });
});
