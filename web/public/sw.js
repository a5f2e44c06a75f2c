// Hygeia's service worker: the app starts offline. On install it precaches the app shell and every built file
// the relay lists in precache.json (JS, CSS, the wasm core, tfjs's wasm builds). Content-hashed assets are
// served cache-first (they never change); the shell (navigations, index.html) network-first, falling back to
// the cache, so a deployed update is picked up whenever the relay is reachable. API and signaling requests are
// never cached.
const CACHE = 'hygeia-shell-v1';

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      const res = await fetch('./precache.json', { cache: 'no-store' });
      const { urls } = await res.json();
      await cache.addAll(urls.map((u) => new Request(u, { cache: 'reload' })));
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
          if (fresh.ok) await cache.put('./', fresh.clone());
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
