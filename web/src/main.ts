// The page: the URL picks the role (`/?role=patient` the patient app, anything else the clinic app; on the
// development consortium `/?dev=clinic-N` takes development clinic N's identity), the node's boot opens it,
// and the node's API becomes `window.hygeia` (what the screens call, and what end-to-end tests drive).
import { mount } from 'svelte';
import { openClinic, openPatient } from './core/node/boot.ts';
import type { ClinicApi, PatientApi } from './core/node/api.ts';
import Hygeia from './ui/Hygeia.svelte';
import type { AppBoot, RoleBoot } from './ui/boot.ts';

declare global {
  interface Window {
    hygeia?: ClinicApi | PatientApi;
  }
}

const params = new URLSearchParams(location.search);
const origin = location.origin;
// The phone installs as the patient app (its own name and start URL); the tablet as the clinic app.
if (params.get('role') === 'patient') document.getElementById('manifest')?.setAttribute('href', './manifest-patient.webmanifest');
const app: AppBoot =
  params.get('role') === 'patient'
    ? { role: 'patient', open: () => openPatient({ origin }) }
    : { role: 'clinic', open: async (): Promise<RoleBoot<ClinicApi>> => openClinic({ origin, dev: params.get('dev') }) };

const target = document.getElementById('app');
if (!target) throw new Error('missing #app');
mount(Hygeia, { target, props: { app, onapi: (api: ClinicApi | PatientApi) => (window.hygeia = api) } });

// The service worker makes the app start offline (public/sw.js). Vite's dev server serves no precache list.
if ('serviceWorker' in navigator && import.meta.env.PROD) {
  navigator.serviceWorker.register(new URL('./sw.js', document.baseURI), { scope: './' }).catch((err: unknown) => {
    console.warn('service worker registration failed', err);
  });
}
