// Hygeia's service worker: the app starts offline. On install it precaches the app shell and every built file
// the relay lists in precache.json (JS, CSS, the wasm core, tfjs's wasm builds, icons). Content-hashed assets
// are served cache-first (they never change); the shell (navigations, index.html) network-first, falling back
// to the cache, so a deployed update is picked up whenever the relay is reachable. After a shell load from the
// network the precache is brought up to date (a new build's files fetched, the old build's dropped), so the
// app keeps starting offline after an update even though this file did not change. Screens are hash routes
// (`/#/records/…`, `/?dev=clinic-1#/access`): every one is the same cached shell. API and signaling requests
// are never cached.
const CACHE = 'hygeia-shell-v2';

async function precacheList() {
  const res = await fetch('./precache.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`precache.json: ${res.status}`);
  const { urls } = await res.json();
  return urls.map((u) => new URL(u, self.registration.scope).href);
}

/** Fetches what the current build lists and is not cached yet; drops cached files no longer listed. */
async function refreshPrecache() {
  const cache = await caches.open(CACHE);
  const wanted = new Set(await precacheList());
  const have = new Set((await cache.keys()).map((r) => r.url));
  const missing = [...wanted].filter((u) => !have.has(u));
  if (missing.length > 0) await cache.addAll(missing.map((u) => new Request(u, { cache: 'reload' })));
  const shell = new URL('./', self.registration.scope).href;
  for (const u of have) if (!wanted.has(u) && u !== shell) await cache.delete(u);
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll((await precacheList()).map((u) => new Request(u, { cache: 'reload' })));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

function isShell(url, request) {
  return request.mode === 'navigate' || url.pathname.endsWith('/') || url.pathname.endsWith('/index.html');
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const path = url.pathname;
  if (path === '/healthz' || path === '/metrics' || path.startsWith('/v1/') || path.startsWith('/dev/') || path.endsWith('/precache.json')) return;

  if (isShell(url, request)) {
    event.respondWith(
      (async () => {
        const cache = await caches.open(CACHE);
        try {
          const fresh = await fetch(request);
          if (fresh.ok) {
            await cache.put('./', fresh.clone());
            event.waitUntil(refreshPrecache().catch(() => undefined));
          }
          return fresh;
        } catch {
          const cached = (await cache.match('./')) ?? (await cache.match(request));
          if (cached) return cached;
          throw new Error('offline and the app shell is not cached');
        }
      })(),
    );
    return;
  }

  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      const cached = await cache.match(request, { ignoreSearch: true });
      if (cached) return cached;
      const fresh = await fetch(request);
      if (fresh.ok && fresh.type === 'basic') await cache.put(request, fresh.clone());
      return fresh;
    })(),
  );
});
