/**
 * bench/qmail-send-torture: kill -9 qmail-send (the qmail-start process
 * tree's head) at random moments under load, ROUNDS times, restarting it
 * each time, then let it drain and check qmail's crash promise: every
 * accepted message delivered at least once, nothing left in the queue, no
 * corrupt entries (qmail-send would log `warning: unknown record type` or
 * `trouble` lines). Duplicates happen only where the kill fell between the
 * mailbox write and qmail-send recording it (qmail's at-least-once); they
 * are counted and reported.
 *
 *   node bench/qmail-send-torture.ts [ROUNDS] [SEED]    (default 1000, 1)
 *
 * Exit 0 when nothing was lost, 1 otherwise. Runs as nobody when root.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { submitMessage } from '../src/lib/queue/client.ts';
import { giveAndBecome, maildirHome, queueHome } from './lib.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.argv[2] ?? 1000);
let seed = Number(process.argv[3] ?? 1);
const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const root = process.getuid!() === 0;
const UID = root ? 65534 : process.getuid!();
const GID = root ? 65534 : process.getgid!();
const work = mkdtempSync(`${tmpdir()}/storture-`);
chmodSync(work, 0o755);
const qh = queueHome(work);
const homes = [0, 1].map((k) => {
  const h = `${work}/h${k}`;
  maildirHome(h);
  return h;
});
writeFileSync(`${qh}/users/assign`, `=a:a:${UID}:${GID}:${homes[0]}:::\n=b:b:${UID}:${GID}:${homes[1]}:::\n.\n`);
execFileSync(`${ROOT}/bin/qmail-newu`, [], { env: { QMAILHOME: qh } });
if (root) giveAndBecome(work, UID, GID);

let warnings: string[] = [];
function start(): Promise<ChildProcess> {
  const p = spawn(`${ROOT}/bin/qmail-start`, ['./Maildir/'], { env: { PATH: process.env.PATH, QMAILHOME: qh}, stdio: ['ignore', 'pipe', 'inherit'] });
  let part = '';
  p.stdout!.on('data', (b: Buffer) => {
    const lines = (part + b.toString('latin1')).split('\n');
    part = lines.pop()!;
    for (const l of lines) if (/warning: (unknown record|trouble)/.test(l)) warnings.push(l);
  });
  return new Promise((res) => p.stdout!.once('data', () => res(p)));
}
const stop = (p: ChildProcess, sig: NodeJS.Signals): Promise<void> =>
  new Promise((res) => {
    p.on('close', () => res());
    p.kill(sig);
  });

let injected = 0;
const t0 = performance.now();
for (let r = 0; r < ROUNDS; r++) {
  const p = await start();
  const until = performance.now() + 10 + rnd() * 120;
  const inj = (async () => {
    while (performance.now() < until) {
      const n = injected;
      const res = await submitMessage({}, { home: qh }, Buffer.from(`Subject: m${n}\n\nbody\n`), Buffer.from('Fs@x.example\0Ta@here.example\0Tb@here.example\0\0'));
      if (res.code !== 0) throw new Error(`inject: ${res.code}`);
      injected++;
    }
  })();
  await new Promise((res) => setTimeout(res, until - performance.now()));
  await stop(p, 'SIGKILL');
  await inj;
  if ((r + 1) % 100 === 0) console.log(`  ${r + 1} kills, ${injected} messages injected`);
}
const p = await start();
const seen = (): Map<string, number> => {
  const m = new Map<string, number>();
  for (const h of homes)
    for (const f of readdirSync(`${h}/Maildir/new`)) {
      const s = /^Subject: (m\d+)$/m.exec(readFileSync(`${h}/Maildir/new/${f}`, 'latin1'))![1] + (h === homes[0] ? 'a' : 'b');
      m.set(s, (m.get(s) ?? 0) + 1);
    }
  return m;
};
// what qmail-send still has to do; a mess/ file without info/ and todo/ is a finished message
// whose qmail-clean request the kill cut off: INTERNALS leaves it to the 36-hour cleanup
const count = (d: string): number => readdirSync(`${qh}/queue/${d}`).reduce((k, s) => k + readdirSync(`${qh}/queue/${d}/${s}`).length, 0);
const queued = (): number => ['info', 'local', 'remote'].reduce((n, d) => n + count(d), 0) + readdirSync(`${qh}/queue/todo`).length + readdirSync(`${qh}/queue/bounce`).length;
const deadline = Date.now() + 120_000;
while (queued() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
await stop(p, 'SIGTERM');
const m = seen();
let lost = 0;
let dups = 0;
for (let n = 0; n < injected; n++)
  for (const w of ['a', 'b']) {
    const c = m.get(`m${n}${w}`) ?? 0;
    if (c === 0) lost++;
    else dups += c - 1;
  }
const left = queued();
const crumbs = count('mess');
console.log(`${ROUNDS} kill -9 of qmail-send in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${injected} messages, ${2 * injected} deliveries expected`);
console.log(`  lost: ${lost}   duplicates: ${dups}   left in queue: ${left}   corrupt-entry warnings: ${warnings.length}`);
console.log(`  finished mess/ files awaiting the 36-hour cleanup (kill fell before qmail-clean's foop): ${crumbs}`);
for (const w of warnings.slice(0, 5)) console.log(`  ${w}`);
rmSync(work, { recursive: true, force: true });
process.exit(lost === 0 && left === 0 && warnings.length === 0 ? 0 : 1);
