// ICE servers for browsers: ICE_SERVERS parsed strictly, TURN credentials only for members, and coturn's
// use-auth-secret credentials minted per member (username "<expiry>:<label>", HMAC-SHA1 of it).
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IceConfigError, iceServersFor, parseIceServers, parseIceTransportPolicy, parseTurnSecret, turnCredential } from '../../../relay/ice.ts';

describe('ICE_SERVERS', () => {
  it('parses an array of RTCIceServer', () => {
    const s = parseIceServers(JSON.stringify([{ urls: 'stun:stun.example:3478' }, { urls: ['turn:127.0.0.1:3478?transport=udp'], username: 'u', credential: 'p' }]));
    expect(s).toEqual([{ urls: 'stun:stun.example:3478' }, { urls: ['turn:127.0.0.1:3478?transport=udp'], username: 'u', credential: 'p' }]);
    expect(parseIceServers(undefined)).toEqual([]);
    expect(parseIceServers('  ')).toEqual([]);
  });

  it('refuses what a browser would refuse, saying which entry', () => {
    for (const bad of ['{', '{}', '[1]', '[{"urls":"http://x"}]', '[{"urls":[]}]', '[{"urls":"turn:x"}]', '[{"urls":"stun:x","username":5}]']) {
      expect(() => parseIceServers(bad), bad).toThrow(IceConfigError);
    }
  });

  it('takes ICE_TRANSPORT_POLICY as all (the default) or relay, and nothing else', () => {
    expect(parseIceTransportPolicy(undefined)).toBe('all');
    expect(parseIceTransportPolicy('relay')).toBe('relay');
    expect(() => parseIceTransportPolicy('turn')).toThrow(/^ICE_TRANSPORT_POLICY: /);
  });

  it('gives TURN credentials to members only', () => {
    const configured = parseIceServers(JSON.stringify([{ urls: 'stun:s:1' }, { urls: 'turn:t:1', username: 'u', credential: 'p' }]));
    expect(iceServersFor(configured, null, null, 0)).toEqual([{ urls: 'stun:s:1' }]);
    expect(iceServersFor(configured, null, 'abcd1234', 0)).toEqual(configured);
  });

  it('mints coturn use-auth-secret credentials that expire', () => {
    const turn = parseTurnSecret('s3cret', 'turn:127.0.0.1:3478, turns:relay.example:5349')!;
    const c = turnCredential(turn, 'abcd1234', 1_000_000_000_000);
    expect(c.urls).toEqual(['turn:127.0.0.1:3478', 'turns:relay.example:5349']);
    expect(c.username).toBe(`${1_000_000_000 + 3600}:abcd1234`);
    expect(c.credential).toBe(createHmac('sha1', 's3cret').update(c.username!).digest('base64'));
    expect(parseTurnSecret(undefined, undefined)).toBeNull();
    expect(() => parseTurnSecret('s', undefined)).toThrow(IceConfigError);
    expect(() => parseTurnSecret('s', 'stun:x')).toThrow(IceConfigError);
  });
});
