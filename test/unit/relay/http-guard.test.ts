// Who may ask (findings 8 and 12): the Host names a listener answers to (DNS rebinding), and what makes a
// request "directly from this machine" for the development endpoints (no proxy in between, no other site).
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { HostAllowList, PROXY_HEADERS, isDirectLocalRequest, isLoopbackAddress, isLoopbackHost } from '../../../relay/http-guard.ts';

const req = (headers: Record<string, string>, remoteAddress = '127.0.0.1'): IncomingMessage =>
  ({ headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])), socket: { remoteAddress } }) as unknown as IncomingMessage;

describe('HostAllowList', () => {
  it("answers a loopback listener's own names with its port, and nothing else", () => {
    const hosts = HostAllowList.forListener('127.0.0.1', 8080);
    for (const h of ['127.0.0.1:8080', 'localhost:8080', 'LOCALHOST:8080', '[::1]:8080']) expect(hosts.allows(h), h).toBe(true);
    for (const h of ['evil.example:8080', 'localhost', '127.0.0.1:8081', '', undefined]) expect(hosts.allows(h), String(h)).toBe(false);
  });

  it("adds the public URLs' hosts, with and without their default port", () => {
    const hosts = HostAllowList.forListener('0.0.0.0', 8080, ['https://relay.clinic.example', 'wss://alt.example:8443']);
    for (const h of ['relay.clinic.example', 'relay.clinic.example:443', 'alt.example:8443', '0.0.0.0:8080']) expect(hosts.allows(h), h).toBe(true);
    expect(hosts.allows('localhost:8080')).toBe(false);
  });
});

describe('isDirectLocalRequest', () => {
  const direct = { Host: '127.0.0.1:8080', 'Sec-Fetch-Site': 'same-origin', Origin: 'http://127.0.0.1:8080' };

  it('accepts a same-origin request from this machine, and one with no browser headers at all', () => {
    expect(isDirectLocalRequest(req(direct))).toBe(true);
    expect(isDirectLocalRequest(req({ Host: 'localhost:8080' }))).toBe(true);
  });

  it('refuses anything a reverse proxy on the same host would add (finding 8)', () => {
    for (const h of PROXY_HEADERS) expect(isDirectLocalRequest(req({ ...direct, [h]: '203.0.113.9' })), h).toBe(false);
  });

  it('refuses another address, a rebinding Host, another site and another origin', () => {
    expect(isDirectLocalRequest(req(direct, '192.168.1.20'))).toBe(false);
    expect(isDirectLocalRequest(req({ ...direct, Host: 'evil.example:8080' }))).toBe(false);
    expect(isDirectLocalRequest(req({ ...direct, 'Sec-Fetch-Site': 'cross-site' }))).toBe(false);
    expect(isDirectLocalRequest(req({ ...direct, Origin: 'http://evil.example' }))).toBe(false);
    expect(isDirectLocalRequest(req({ ...direct, Origin: 'null' }))).toBe(false);
    expect(isDirectLocalRequest(req({}))).toBe(false);
  });

  it('knows loopback when it sees it', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'].map(isLoopbackAddress)).toEqual([true, true, true, true]);
    expect(['10.0.0.1', '::ffff:10.0.0.1', '', undefined].map(isLoopbackAddress)).toEqual([false, false, false, false]);
    expect(['localhost', '127.0.0.1', '[::1]', '0.0.0.0', 'example.com'].map(isLoopbackHost)).toEqual([true, true, true, false, false]);
  });
});
