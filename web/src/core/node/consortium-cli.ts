// `npm run consortium -- init --clinics N --dir DIR [--checkpoint K]`
// `npm run consortium -- add --name NAME --key HEX [--dir DIR] [--observer]`
// `npm run consortium -- show [--dir DIR]`
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GenesisError } from './genesis.ts';
import { addClinic, initConsortium, readGenesis } from './consortium-files.ts';

const usage = `usage:
  npm run consortium -- init --clinics N --dir DIR [--checkpoint K]   a new development consortium (genesis and keys)
  npm run consortium -- add --name NAME --key HEX [--dir DIR] [--observer]   add a real tablet's public key to a genesis
  npm run consortium -- show [--dir DIR]`;

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: {
      dir: { type: 'string', default: process.env.HYGEIA_DEV_DIR ?? '.hygeia' },
      clinics: { type: 'string' },
      checkpoint: { type: 'string' },
      name: { type: 'string' },
      key: { type: 'string' },
      observer: { type: 'boolean', default: false },
    },
  });
  const dir = resolve(values.dir!);
  switch (command) {
    case 'init': {
      const clinics = Number(values.clinics ?? '4');
      const checkpoint = values.checkpoint === undefined ? undefined : Number(values.checkpoint);
      const { genesis, path } = await initConsortium({
        dir,
        clinics,
        ...(checkpoint !== undefined ? { consensus: { checkpointInterval: checkpoint, watermarkWindow: 4 * checkpoint } } : {}),
      });
      console.log(`wrote ${path}: ${genesis.clinics.length} clinics (${genesis.clinics.map((c) => c.name).join(', ')}), chain ${genesis.chainId}`);
      console.log(`development keys in ${resolve(dir, 'keys')}: never use them for real patients`);
      return;
    }
    case 'add': {
      if (!values.name || !values.key) throw new GenesisError('add', 'needs --name and --key');
      const g = addClinic({ dir, name: values.name, key: values.key, validator: !values.observer });
      console.log(`added ${values.name} to ${resolve(dir, 'genesis.json')}: ${g.clinics.length} clinics`);
      return;
    }
    case 'show': {
      const g = readGenesis(dir);
      console.log(JSON.stringify(g, null, 2));
      return;
    }
    default:
      console.error(usage);
      process.exit(2);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof GenesisError ? e.message : e instanceof Error ? `consortium: ${e.message}` : String(e));
  process.exit(1);
});
