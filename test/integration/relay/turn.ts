// Debian's coturn (`turnserver`) on loopback for the TURN-only end-to-end run: a static long-term user, relay
// addresses on 127.0.0.1, and loopback peers allowed (coturn refuses them by default, rightly, in production).
import { spawn } from 'node:child_process';

export interface TurnProcess {
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** Allocations coturn reported creating so far. */
  allocations(): number;
  stop(): Promise<void>;
}

export async function startTurn(port: number): Promise<TurnProcess> {
  const username = 'hygeia';
  const password = 'loopback-only-secret';
  const proc = spawn(
    'turnserver',
    [
      '-n',
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${port}`,
      '--min-port=49160',
      '--max-port=49260',
      '--allow-loopback-peers',
      '--lt-cred-mech',
      `--user=${username}:${password}`,
      '--realm=hygeia.test',
      '--fingerprint',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--no-multicast-peers',
      '--simple-log',
      '--log-file=stdout',
      '--verbose',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let allocations = 0;
  proc.stdout!.on('data', (d: Buffer) => {
    const text = d.toString();
    out = (out + text).slice(-20_000);
    allocations += (text.match(/ALLOCATE processed, success/g) ?? []).length;
  });
  proc.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`turnserver did not start:\n${out}`)), 15_000);
    const check = setInterval(() => {
      if (/listener opened on|Total General servers|IPv4. UDP listener opened/i.test(out)) {
        clearInterval(check);
        clearTimeout(timer);
        res();
      }
    }, 50);
    proc.once('exit', (code) => {
      clearInterval(check);
      clearTimeout(timer);
      rej(new Error(`turnserver exited with ${code}:\n${out}`));
    });
  });
  return {
    port,
    username,
    password,
    allocations: () => allocations,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}
