// The browser Web Worker entry of a clinic tablet's node: the replica, the contracts, the encrypted records and
// the learning desk run here, off the page's main thread (core/node/clinic-worker.ts); the page keeps the
// WebRTC links and the screens (core/node/clinic-remote.ts).
import { serveClinicNode } from '../core/node/clinic-worker.ts';
import type { NodeEndpoint } from '../core/node/clinic-wire.ts';

serveClinicNode(self as unknown as NodeEndpoint);
