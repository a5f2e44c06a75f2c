// Serves the repository through Vite's dev server on a free loopback port, so browser tests can load a
// fixture page (TypeScript, workers and wasm transformed as in the PWA build). A fixture is a folder under
// test/e2e/fixtures with a main.ts; its page, /test/e2e/fixtures/<name>/index.html, is the one page below
// (no folder keeps an index.html of its own).
import { fileURLToPath } from 'node:url';
import { createServer, type Plugin, type PluginOption, type ViteDevServer } from 'vite';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE_PAGE = /^\/test\/e2e\/fixtures\/([\w-]+)\/(?:index\.html)?(?:\?.*)?$/;

const fixturePage = (name: string): string => `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${name} fixture</title>
  </head>
  <body>
    <script type="module" src="./main.ts"></script>
  </body>
</html>
`;

/** Answers a fixture folder's index.html with the one fixture page, which loads that folder's main.ts. */
function fixturePages(): Plugin {
  return {
    name: 'hygeia-fixture-pages',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const name = FIXTURE_PAGE.exec(req.url ?? '')?.[1];
        if (name === undefined) return next();
        server
          .transformIndexHtml(req.url!, fixturePage(name))
          .then((html) => {
            res.setHeader('Content-Type', 'text/html; charset=utf-8');
            res.end(html);
          })
          .catch(next);
      });
    },
  };
}

export interface FixtureServer {
  readonly server: ViteDevServer;
  /** http://127.0.0.1:PORT, the repository root. */
  readonly origin: string;
}

export interface FixtureServerOptions {
  /** Let Vite pre-bundle dependencies it finds (tfjs needs it; the core's fixtures do not). */
  readonly discoverDeps?: boolean;
  /** More folders Vite may serve from, beyond its default allow list. */
  readonly allowFs?: readonly string[];
  /** Plugins besides the fixture pages' (the UI fixtures need Svelte's). */
  readonly plugins?: PluginOption[];
}

export async function startFixtureServer(opts: FixtureServerOptions = {}): Promise<FixtureServer> {
  const server = await createServer({
    root: repoRoot,
    configFile: false,
    logLevel: 'error',
    plugins: [fixturePages(), ...(opts.plugins ?? [])],
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
    // Vite finds the dependencies to pre-bundle by crawling the HTML pages; the fixture pages are served, not
    // files, so their main.ts files are named as entries too (else a dependency found late reloads the page).
    optimizeDeps: opts.discoverDeps ? { entries: ['**/*.html', 'test/e2e/fixtures/*/main.ts'] } : { noDiscovery: true, include: [] },
  });
  server.config.server.fs.allow.push(...(opts.allowFs ?? []));
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('vite did not listen');
  return { server, origin: `http://127.0.0.1:${address.port}` };
}
