// Hash routing: `#/records/abc` → { path: ['records', 'abc'] }. The hash never reaches the server, so every
// screen opens offline from the service worker's cached shell, and the query string (`?dev=clinic-1`,
// `?role=patient`) that chose the role stays as it is.

function parse(hash: string): string[] {
  return hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((s) => s.length > 0)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}

class Router {
  path = $state<string[]>(parse(location.hash));

  constructor() {
    addEventListener('hashchange', () => {
      this.path = parse(location.hash);
    });
  }

  /** The first segment, i.e. the screen. */
  get screen(): string {
    return this.path[0] ?? '';
  }

  go(...segments: string[]): void {
    location.hash = href(...segments);
  }
}

/** The href of a route, each segment encoded. */
export function href(...segments: string[]): string {
  return '#/' + segments.map((s) => encodeURIComponent(s)).join('/');
}

export const router = new Router();
