import { mount } from 'svelte';
import App from './ui/App.svelte';

const target = document.getElementById('app');
if (!target) throw new Error('missing #app');
mount(App, { target });

// The service worker makes the app start offline (public/sw.js). Vite's dev server serves no precache list.
if ('serviceWorker' in navigator && import.meta.env.PROD) {
  navigator.serviceWorker.register(new URL('./sw.js', document.baseURI), { scope: './' }).catch((err: unknown) => {
    console.warn('service worker registration failed', err);
  });
}
