// Which DTLS certificates the handshake binds to (finding 3 of the security review). An SDP can state several
// fingerprints (session level and per media section); a browser uses the one of the section it negotiates, so
// reading "the first fingerprint anywhere" let a man in the middle show each side the other's real fingerprint
// first and its own where the browser looks. So: the fingerprints come from the certificates the browser
// actually negotiated (getStats' transport and certificate entries), and an SDP is read only strictly, as a
// cross-check or where stats say nothing: every `a=fingerprint:` line of it must be sha-256 and name the
// same certificate.

/** A 32-byte sha-256 fingerprint, uppercase hex pairs separated by colons. */
const SHA256_FINGERPRINT = /^(?:[0-9A-F]{2}:){31}[0-9A-F]{2}$/;

function normalise(fingerprint: unknown): string | null {
  if (typeof fingerprint !== 'string') return null;
  const up = fingerprint.trim().toUpperCase();
  return SHA256_FINGERPRINT.test(up) ? up : null;
}

/**
 * The one sha-256 DTLS fingerprint an SDP states, or '' if it states none, states two different ones, uses
 * another hash algorithm, or has a malformed fingerprint line. Lines are matched whole, from their start.
 */
export function sdpFingerprint(sdp: string | undefined | null): string {
  if (!sdp) return '';
  let found = '';
  for (const line of sdp.split(/\r?\n/)) {
    if (!line.startsWith('a=fingerprint:')) continue;
    const m = /^a=fingerprint:sha-256 (\S+)$/i.exec(line);
    const fp = m ? normalise(m[1]) : null;
    if (!fp) return '';
    if (found && found !== fp) return '';
    found = fp;
  }
  return found;
}

/** The part of an RTCStatsReport read here (a Map of stats objects by id). */
export interface StatsLike {
  get(id: string): unknown;
  values(): Iterable<unknown>;
}

interface TransportStats {
  type: 'transport';
  dtlsState?: string;
  localCertificateId?: string;
  remoteCertificateId?: string;
}
interface CertificateStats {
  type: 'certificate';
  fingerprint?: string;
  fingerprintAlgorithm?: string;
}

function certificateFingerprint(stats: StatsLike, id: string | undefined): string | null {
  if (!id) return null;
  const c = stats.get(id) as CertificateStats | undefined;
  if (!c || c.type !== 'certificate' || (c.fingerprintAlgorithm ?? '').toLowerCase() !== 'sha-256') return null;
  return normalise(c.fingerprint);
}

/**
 * The fingerprints of the certificates negotiated on the connection's DTLS transport, from getStats(): the
 * connected transport's local and remote certificate entries. Null when the report has no such transport, or
 * more than one with different certificates (nothing unambiguous to bind to).
 */
export function negotiatedFingerprints(stats: StatsLike): { local: string; remote: string } | null {
  let found: { local: string; remote: string } | null = null;
  for (const s of stats.values()) {
    const t = s as TransportStats;
    if (t?.type !== 'transport' || t.dtlsState !== 'connected') continue;
    const local = certificateFingerprint(stats, t.localCertificateId);
    const remote = certificateFingerprint(stats, t.remoteCertificateId);
    if (!local || !remote) return null;
    if (found && (found.local !== local || found.remote !== remote)) return null;
    found = { local, remote };
  }
  return found;
}

export type DtlsBinding = { readonly local: string; readonly remote: string } | { readonly fail: 'dtls-unbound' | 'dtls-mismatch' };

/**
 * What a handshake binds to, given the negotiated fingerprints (null if stats had none) and the SDPs applied.
 * Negotiated certificates win; an SDP that names exactly one certificate must name the negotiated one; with no
 * stats, each SDP must name exactly one.
 */
export function dtlsBinding(negotiated: { local: string; remote: string } | null, localSdp: string | undefined | null, remoteSdp: string | undefined | null): DtlsBinding {
  const local = sdpFingerprint(localSdp);
  const remote = sdpFingerprint(remoteSdp);
  // An SDP with fingerprint lines that do not name one certificate is no browser's: someone edited it.
  if ((!local && statesFingerprint(localSdp)) || (!remote && statesFingerprint(remoteSdp))) return { fail: 'dtls-mismatch' };
  if (negotiated) {
    if ((local && local !== negotiated.local) || (remote && remote !== negotiated.remote)) return { fail: 'dtls-mismatch' };
    return negotiated;
  }
  if (!local || !remote) return { fail: 'dtls-unbound' };
  return { local, remote };
}

function statesFingerprint(sdp: string | undefined | null): boolean {
  return !!sdp && /^a=fingerprint:/m.test(sdp);
}
