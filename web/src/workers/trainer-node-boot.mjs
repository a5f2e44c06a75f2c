// Node's worker_threads loader does not run --import hooks before a .ts entry, so this plain-JS entry
// registers tsx in the worker and then loads the TypeScript trainer.
import { register } from 'tsx/esm/api';

register();
await import('./trainer-node.ts');
