// Serves the repository through Vite's dev server on a free loopback port, so browser tests can load a
// fixture page (TypeScript, workers and wasm transformed as in the PWA build).
import { fileURLToPath } from 'node:url';
import { createServer, type ViteDevServer } from 'vite';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface FixtureServer {
  readonly server: ViteDevServer;
  /** http://127.0.0.1:PORT, the repository root. */
  readonly origin: string;
}

/** `discoverDeps` lets Vite pre-bundle dependencies it finds (tfjs needs it; the core's fixtures do not). */
export async function startFixtureServer(opts: { discoverDeps?: boolean } = {}): Promise<FixtureServer> {
  const server = await createServer({
    root: repoRoot,
    configFile: false,
    logLevel: 'error',
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
    ...(opts.discoverDeps ? {} : { optimizeDeps: { noDiscovery: true, include: [] } }),
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('vite did not listen');
  return { server, origin: `http://127.0.0.1:${address.port}` };
}
