// Finding 3 of the security review: the handshake must bind to the DTLS certificate the browser negotiated,
// never to "the first fingerprint anywhere in the SDP". A man in the middle who serves an SDP whose session
// level names the real peer's certificate and whose media section names its own (the one the browser uses)
// must not get a binding to the real peer's certificate.
import { describe, expect, it } from 'vitest';
import { dtlsBinding, negotiatedFingerprints, sdpFingerprint } from '../../../web/src/core/net/dtls-binding.ts';

const fp = (byte: string): string => Array.from({ length: 32 }, () => byte).join(':');
const REAL = fp('AB');
const MITM = fp('EE');
const OURS = fp('11');

const sdp = (...fingerprintLines: string[]): string =>
  [
    'v=0',
    'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    ...fingerprintLines.filter((l) => l.startsWith('session:')).map((l) => l.slice('session:'.length)),
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    'a=ice-ufrag:abcd',
    'a=ice-pwd:abcdefghijklmnopqrstuvwx',
    ...fingerprintLines.filter((l) => !l.startsWith('session:')),
    'a=setup:actpass',
    'a=mid:0',
    'a=sctp-port:5000',
    '',
  ].join('\r\n');

/** A fake RTCStatsReport: one connected DTLS transport and its two certificates. */
function stats(local: string, remote: string, extra: object[] = []): Map<string, object> {
  const m = new Map<string, object>([
    ['T01', { id: 'T01', type: 'transport', dtlsState: 'connected', localCertificateId: 'CF-local', remoteCertificateId: 'CF-remote' }],
    ['CF-local', { id: 'CF-local', type: 'certificate', fingerprint: local, fingerprintAlgorithm: 'sha-256' }],
    ['CF-remote', { id: 'CF-remote', type: 'certificate', fingerprint: remote, fingerprintAlgorithm: 'sha-256' }],
  ]);
  for (const e of extra) m.set((e as { id: string }).id, e);
  return m;
}

describe('sdpFingerprint (strict)', () => {
  it('reads the one sha-256 fingerprint of a browser SDP, normalised to upper case', () => {
    expect(sdpFingerprint(sdp(`a=fingerprint:sha-256 ${REAL.toLowerCase()}`))).toBe(REAL);
    // Several media sections of one session repeat the same certificate: still one fingerprint.
    expect(sdpFingerprint(sdp(`session:a=fingerprint:sha-256 ${REAL}`, `a=fingerprint:sha-256 ${REAL}`))).toBe(REAL);
  });

  it('refuses an SDP naming two certificates (the crafted SDP of the attack), whichever comes first', () => {
    expect(sdpFingerprint(sdp(`session:a=fingerprint:sha-256 ${REAL}`, `a=fingerprint:sha-256 ${MITM}`))).toBe('');
    expect(sdpFingerprint(sdp(`a=fingerprint:sha-256 ${MITM}`, `a=fingerprint:sha-256 ${REAL}`))).toBe('');
  });

  it('reads only whole lines: a fingerprint inside another attribute is not one', () => {
    expect(sdpFingerprint(sdp(`a=x-note:a=fingerprint:sha-256 ${REAL}`, `a=fingerprint:sha-256 ${MITM}`))).toBe(MITM);
    expect(sdpFingerprint(`v=0\r\na=tool:x a=fingerprint:sha-256 ${REAL}\r\n`)).toBe('');
  });

  it('refuses other hash algorithms, short or malformed fingerprints, and an SDP without one', () => {
    expect(sdpFingerprint(sdp(`a=fingerprint:sha-1 ${fp('AB').slice(0, 59)}`))).toBe('');
    expect(sdpFingerprint(sdp(`a=fingerprint:sha-256 ${REAL}`, `a=fingerprint:sha-1 ${fp('CD').slice(0, 59)}`))).toBe('');
    expect(sdpFingerprint(sdp('a=fingerprint:sha-256 AB:CD:01'))).toBe('');
    expect(sdpFingerprint(sdp())).toBe('');
    expect(sdpFingerprint(undefined)).toBe('');
  });
});

describe('negotiatedFingerprints', () => {
  it('reads the certificates of the connected DTLS transport', () => {
    expect(negotiatedFingerprints(stats(OURS.toLowerCase(), MITM))).toEqual({ local: OURS, remote: MITM });
  });

  it('gives nothing for a transport not connected, a missing certificate or another algorithm', () => {
    const notYet = stats(OURS, MITM);
    notYet.set('T01', { ...(notYet.get('T01') as object), dtlsState: 'connecting' });
    expect(negotiatedFingerprints(notYet)).toBeNull();
    const sha1 = stats(OURS, MITM);
    sha1.set('CF-remote', { id: 'CF-remote', type: 'certificate', fingerprint: MITM, fingerprintAlgorithm: 'sha-1' });
    expect(negotiatedFingerprints(sha1)).toBeNull();
    const missing = stats(OURS, MITM);
    missing.delete('CF-remote');
    expect(negotiatedFingerprints(missing)).toBeNull();
  });

  it('gives nothing when two connected transports negotiated different certificates', () => {
    const two = stats(OURS, MITM, [
      { id: 'T02', type: 'transport', dtlsState: 'connected', localCertificateId: 'CF-local', remoteCertificateId: 'CF-other' },
      { id: 'CF-other', type: 'certificate', fingerprint: REAL, fingerprintAlgorithm: 'sha-256' },
    ]);
    expect(negotiatedFingerprints(two)).toBeNull();
  });
});

describe('dtlsBinding', () => {
  it('binds to the negotiated certificates, not to what the SDP says first', () => {
    // The attack: the remote SDP names the real peer first and the man in the middle where the browser looks;
    // the browser negotiated with the man in the middle. The binding is the negotiated one, so the real peer's
    // proof (made for its own certificate) will not verify, or the edited SDP is refused outright.
    const crafted = sdp(`session:a=fingerprint:sha-256 ${REAL}`, `a=fingerprint:sha-256 ${MITM}`);
    expect(dtlsBinding({ local: OURS, remote: MITM }, sdp(`a=fingerprint:sha-256 ${OURS}`), crafted)).toEqual({ fail: 'dtls-mismatch' });
    expect(dtlsBinding({ local: OURS, remote: MITM }, sdp(`a=fingerprint:sha-256 ${OURS}`), sdp(`a=fingerprint:sha-256 ${MITM}`))).toEqual({ local: OURS, remote: MITM });
  });

  it('refuses an SDP that names another certificate than the one negotiated', () => {
    expect(dtlsBinding({ local: OURS, remote: MITM }, sdp(`a=fingerprint:sha-256 ${OURS}`), sdp(`a=fingerprint:sha-256 ${REAL}`))).toEqual({ fail: 'dtls-mismatch' });
  });

  it('without stats, binds to SDPs that each name exactly one certificate, and to nothing otherwise', () => {
    expect(dtlsBinding(null, sdp(`a=fingerprint:sha-256 ${OURS}`), sdp(`a=fingerprint:sha-256 ${REAL}`))).toEqual({ local: OURS, remote: REAL });
    expect(dtlsBinding(null, sdp(`a=fingerprint:sha-256 ${OURS}`), sdp())).toEqual({ fail: 'dtls-unbound' });
  });
});
