/**
 * bench/qmail-remote: remote deliveries per second to a local SMTP sink
 * (postfix's smtp-sink on a 127.x address, routed by control/smtproutes).
 *
 *   node bench/qmail-remote.ts [N] [RUNS]    (default N = 400, RUNS = 3)
 *
 * Rows (medians of RUNS; each delivery is one connection, one message of
 * ~1 KB, one recipient, as qmail-send drives qmail-remote):
 *  - in-process core: deliverRemote() (src/lib/remote/deliver.ts) as
 *    qmail-rspawn calls it, one at a time and 20 at a time;
 *  - program per delivery: bin/qmail-remote spawned per delivery (Node
 *    start included), one at a time and 20 at a time (N/8 deliveries);
 *  - C anchor on the same sink: postfix's smtp-source -s 1 / -s 20 (one
 *    message per connection; there is no Debian qmail-remote to compare).
 * Prints deliveries/s and the ratios ours/C and in-process/program.
 */
import { execFile, spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deliverRemote } from '../src/lib/remote/deliver.ts';
import { queueCreate } from '../src/lib/queue/create.ts';
import { median } from './lib.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.argv[2] ?? 400);
const RUNS = Number(process.argv[3] ?? 3);
const work = mkdtempSync(`${tmpdir()}/remote-bench-`);
const ip = `127.88.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
const port = 20000 + Math.floor(Math.random() * 20000);

const sink = spawn('/usr/sbin/smtp-sink', [...(process.getuid?.() === 0 ? ['-u', 'nobody'] : []), '-c', '-4', `${ip}:${port}`, '256'], { stdio: 'ignore' });
const home = `${work}/qmail`;
mkdirSync(home);
queueCreate(home);
mkdirSync(`${home}/control`);
writeFileSync(`${home}/control/me`, 'bench.example\n');
writeFileSync(`${home}/control/smtproutes`, `:[${ip}]:${port}\n`);
const message = Buffer.from(`From: a@bench.example\nTo: u@dest.example\nSubject: bench\n\n${'x'.repeat(70)}\n`.padEnd(1024, 'y') + '\n');
const env = { QMAILHOME: home, PATH: '/usr/bin:/bin' };

async function pool(n: number, conc: number, one: () => Promise<boolean>): Promise<number> {
  let next = 0;
  let bad = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < n) {
        next++;
        if (!(await one())) bad++;
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (bad) console.error(`warning: ${bad} deliveries did not end in K`);
  return n / secs;
}

const inproc = () =>
  deliverRemote({ host: 'dest.example', sender: 'a@bench.example', recipients: ['u@dest.example'], message, env, home }).then((r) => r.includes(Buffer.from('\0K')));

const program = () =>
  new Promise<boolean>((res) => {
    const c = execFile(`${ROOT}/bin/qmail-remote`, ['dest.example', 'a@bench.example', 'u@dest.example'], { env, encoding: 'latin1' }, (e, out) => res(!e && out.includes('\0K')));
    c.stdin!.end(message);
  });

const cSource = (conc: number, n: number): number => {
  const t0 = process.hrtime.bigint();
  execFileSync('/usr/sbin/smtp-source', ['-4', '-s', String(conc), '-m', String(n), '-l', String(message.length), '-f', 'a@bench.example', '-t', 'u@dest.example', `${ip}:${port}`]);
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
};

async function main(): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  await pool(100, 4, inproc); // warm-up: JIT, resolver, control file cache of the kernel
  const rows: Array<[string, number, number | undefined]> = [];
  for (const conc of [1, 20]) {
    const c = median(Array.from({ length: RUNS }, () => cSource(conc, N)));
    const ours: number[] = [];
    for (let i = 0; i < RUNS; i++) ours.push(await pool(N, conc, inproc));
    const prog: number[] = [];
    for (let i = 0; i < RUNS; i++) prog.push(await pool(Math.max(10, Math.floor(N / 8)), conc, program));
    rows.push([`in-process core, concurrency ${conc}`, median(ours), c]);
    rows.push([`program per delivery, concurrency ${conc}`, median(prog), c]);
    rows.push([`C smtp-source -s ${conc} (anchor)`, c, undefined]);
  }
  console.log(`deliveries/s to postfix smtp-sink at ${ip}:${port}, ${message.length}-byte messages, N=${N}, medians of ${RUNS}`);
  for (const [name, v, c] of rows) console.log(`${name.padEnd(42)} ${v.toFixed(1).padStart(8)}/s${c ? `   ours/C ${(v / c).toFixed(2)}` : ''}`);
  console.log(`in-process / program: concurrency 1 ${(rows[0][1] / rows[1][1]).toFixed(1)}x, concurrency 20 ${(rows[3][1] / rows[4][1]).toFixed(1)}x`);
}

main()
  .finally(() => {
    sink.kill();
    rmSync(work, { recursive: true, force: true });
  })
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
