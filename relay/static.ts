// Serves the built PWA (dist/) with the caching a PWA needs: Vite's content-hashed files under assets/ never
// change, so they are cached for a year as immutable; index.html, the service worker and the manifest must be
// revalidated on every load, or a deployed fix would never reach an installed app.

import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, resolve, sep } from 'node:path';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Headers every response carries: what a PWA with wasm and workers needs, and nothing looser. */
export const SECURITY_HEADERS: Record<string, string> = {
  // 'wasm-unsafe-eval' lets pages and workers compile WebAssembly without allowing JS eval.
  'Content-Security-Policy': [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self' blob:",
    "connect-src 'self' ws: wss:",
    "img-src 'self' data: blob:",
    "style-src 'self' 'unsafe-inline'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "manifest-src 'self'",
  ].join('; '),
  // No COOP/COEP: nothing here needs SharedArrayBuffer, and cross-origin isolation would make tfjs-wasm pick
  // its threaded build, whose blob-URL workers fail under this CSP. Our files are for our origin only.
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

function cacheControlFor(path: string): string {
  // Vite writes hashed names under assets/ (e.g. assets/index-3f9a1c2b.js).
  return path.startsWith('assets/') ? IMMUTABLE : REVALIDATE;
}

function mimeFor(path: string): string {
  return MIME[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** Every file under dist/, relative and '/'-separated (what the service worker precaches). */
async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) out.push(relative(root, full).split(sep).join('/'));
    }
  };
  await walk(root);
  return out.sort();
}

export class StaticFiles {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Serves GET/HEAD for a path; false if nothing matched (the caller answers 404). */
  async serve(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
    if (pathname === '/precache.json') return this.precache(res, req.method === 'HEAD');
    let rel: string;
    try {
      rel = decodeURIComponent(pathname).replace(/^\/+/, '');
    } catch {
      return false;
    }
    if (rel === '' || rel.endsWith('/')) rel += 'index.html';
    if (rel.includes('\0')) return false;
    const full = resolve(this.root, rel);
    if (full !== this.root && !full.startsWith(this.root + sep)) return false;
    let st;
    try {
      st = await stat(full);
    } catch {
      return false;
    }
    if (!st.isFile()) return false;
    const etag = `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const headers: Record<string, string | number> = {
      'Content-Type': mimeFor(rel),
      'Cache-Control': cacheControlFor(rel),
      ETag: etag,
    };
    if (rel === 'sw.js') headers['Service-Worker-Allowed'] = '/';
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    headers['Content-Length'] = st.size;
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    const stream = createReadStream(full);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
    return true;
  }

  private async precache(res: ServerResponse, head: boolean): Promise<boolean> {
    let files: string[];
    try {
      files = await listFiles(this.root);
    } catch {
      return false;
    }
    // Source maps are not needed offline; the app shell is './'.
    const urls = ['./', ...files.filter((f) => !f.endsWith('.map') && f !== 'index.html' && f !== 'sw.js').map((f) => `./${f}`)];
    const body = JSON.stringify({ urls });
    res.writeHead(200, { 'Content-Type': MIME['.json']!, 'Cache-Control': REVALIDATE, 'Content-Length': Buffer.byteLength(body) });
    res.end(head ? undefined : body);
    return true;
  }
}
