// pretest: the browser, scale-out and TURN tests need Debian's chromium, redis-server and coturn. Where they are missing,
// install them with apt-get and say so (as `playwright install --with-deps` would); without root, stop with
// the exact command to run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const missing = [];
if (!(process.env.HYGEIA_CHROMIUM && existsSync(process.env.HYGEIA_CHROMIUM)) && !onPath('chromium')) missing.push('chromium');
if (!onPath('redis-server')) missing.push('redis-server');
if (!onPath('turnserver')) missing.push('coturn');

if (missing.length > 0) {
  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    console.error(`The tests need ${missing.join(', ')} (Debian packages), which this machine lacks.`);
    console.error(`Install them, then run npm test again:\n\n  sudo sh -c '${command}'\n`);
    process.exit(1);
  }
  console.log(`pretest: installing ${missing.join(' and ')} with apt-get (needed by the browser, relay and TURN tests)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
  console.log('pretest: installed.');
}
