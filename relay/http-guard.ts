// Checks on who is asking over HTTP. DNS rebinding (finding 12): a page on an attacker's domain that resolves
// to this relay's address is same-origin with it in the browser, but its requests carry the attacker's Host,
// so every API answer requires a Host the relay knows as its own. Development endpoints (finding 8) must also
// come from this very machine, directly: a loopback peer address, a loopback Host, and no header a reverse
// proxy adds (behind a proxy on the same host the peer address is loopback for everyone).

import type { IncomingMessage } from 'node:http';

/** Headers a reverse proxy or load balancer adds; their presence means the request did not come directly. */
export const PROXY_HEADERS = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-server',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'via',
] as const;

function hasProxyHeaders(req: IncomingMessage): boolean {
  return PROXY_HEADERS.some((h) => req.headers[h] !== undefined);
}

export function isLoopbackHost(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function isLoopbackAddress(addr: string | undefined): boolean {
  if (!addr) return false;
  return addr === '::1' || /^127\.\d+\.\d+\.\d+$/.test(addr) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(addr);
}

/** The host part of a Host header value (`name`, `name:port`, `[v6]:port`), lowercase. */
function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon >= 0 ? h.slice(0, colon) : h;
}

/** The Host header values a listener answers to. */
export class HostAllowList {
  private readonly hosts: Set<string>;

  constructor(hosts: Iterable<string>) {
    this.hosts = new Set([...hosts].map((h) => h.toLowerCase()));
  }

  /** For a listener on host:port: the loopback names when it is loopback, else that host; plus public URLs' hosts. */
  static forListener(host: string, port: number, publicUrls: readonly string[] = []): HostAllowList {
    const names = isLoopbackHost(host) ? ['127.0.0.1', 'localhost', '[::1]', host.includes(':') && !host.startsWith('[') ? `[${host}]` : host] : [host];
    const hosts = names.map((n) => `${n}:${port}`);
    for (const u of publicUrls) {
      const url = new URL(u);
      hosts.push(url.host);
      if (!url.port) hosts.push(`${url.hostname}:${url.protocol === 'https:' || url.protocol === 'wss:' ? 443 : 80}`);
    }
    return new HostAllowList(hosts);
  }

  allows(hostHeader: string | undefined): boolean {
    return hostHeader !== undefined && this.hosts.has(hostHeader.trim().toLowerCase());
  }

  get list(): string[] {
    return [...this.hosts];
  }
}

/**
 * Whether a request reached a development endpoint directly from this machine: loopback peer, loopback Host,
 * no proxy headers, and, when the browser says, from the relay's own origin (never another site).
 */
export function isDirectLocalRequest(req: IncomingMessage): boolean {
  if (!isLoopbackAddress(req.socket.remoteAddress)) return false;
  if (hasProxyHeaders(req)) return false;
  const host = req.headers.host;
  if (!host || !isLoopbackHost(hostName(host))) return false;
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let o: URL;
    try {
      o = new URL(origin);
    } catch {
      return false;
    }
    if (o.host.toLowerCase() !== host.trim().toLowerCase()) return false;
  }
  return true;
}
