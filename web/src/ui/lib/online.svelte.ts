// The browser's own idea of being online (the node's snapshot says whether the relay answers).
class BrowserOnline {
  value = $state(navigator.onLine);

  constructor() {
    addEventListener('online', () => (this.value = true));
    addEventListener('offline', () => (this.value = false));
  }
}

export const browserOnline = new BrowserOnline();
