/**
 * bench/qmail-send: local injection + delivery through the whole qmail-send
 * process tree (qmail-start -> qmail-send, qmail-lspawn, qmail-rspawn,
 * qmail-clean), into Maildir, with every fsync of qmail-queue, qmail-send
 * and qmail-local in place.
 *
 *   node bench/qmail-send.ts [N]      (default N = 1000)
 *
 * Rows:
 *  - N messages injected one after the other (in-process submitMessage, as
 *    qmail-inject's qmail-queue would), each to one mailbox: wall time from
 *    the first injection to the last message in Maildir/new, msgs/s;
 *  - one message to 1024 mailboxes (1024 accounts in users/assign), default
 *    concurrencylocal 10: wall time from injection to the 1024th file;
 *  - CPU seconds (user + system, children included) the tree spent on
 *    each run, per program: unlike wall time, hardly changed by other load;
 *  - RSS and PSS (/proc/PID/smaps_rollup) of the qmail-send process tree
 *    after the runs.
 * When root, everything runs as nobody (qmail-lspawn's in-process path, the
 * embedded setup). There is no C qmail on this machine: the C figures are
 * ../shared/ANCHORS.md's (287 msgs/s; 1.4 s for 1024 mailboxes), printed
 * with the ratio.
 */
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { submitMessage } from '../src/lib/queue/client.ts';
import { giveAndBecome, maildirHome, queueHome, smaps } from './lib.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.argv[2] ?? 1000);
const C_RATE = 287;
const C_1024 = 1.4;
const root = process.getuid!() === 0;
const work = mkdtempSync(`${tmpdir()}/sbench-`);
chmodSync(work, 0o755);
const qh = queueHome(work);
const UID = root ? 65534 : process.getuid!();
const GID = root ? 65534 : process.getgid!();
const homes: string[] = [];
let assign = '';
for (let k = 0; k < 1025; k++) {
  const h = `${work}/h${k}`;
  maildirHome(h);
  homes.push(h);
  assign += `=u${k}:u${k}:${UID}:${GID}:${h}:::\n`;
}
writeFileSync(`${qh}/users/assign`, assign + '.\n');
execFileSync(`${ROOT}/bin/qmail-newu`, [], { env: { QMAILHOME: qh } });
if (root) giveAndBecome(work, UID, GID);

// the log goes to a file, as to a logger that keeps up: this process's own event loop must not pace qmail-send
const logFile = `${work}/log`;
const logFd = openSync(logFile, 'w');
const proc = spawn(`${ROOT}/bin/qmail-start`, ['./Maildir/'], { env: { PATH: process.env.PATH, QMAILHOME: qh }, stdio: ['ignore', logFd, 'inherit'] });
closeSync(logFd);
while (statSync(logFile).size === 0) await new Promise((r) => setTimeout(r, 10));

const count = (h: string): number => readdirSync(`${h}/Maildir/new`).length;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MSG = Buffer.concat([Buffer.from('From: a@b.example\nTo: u0@here.example\nSubject: bench\n\n'), Buffer.alloc(460, 'x'), Buffer.from('\n')]);

// CPU seconds (user + system, reaped children included) used so far by the qmail-send tree, per program:
// a figure the machine's load hardly changes
const perProc = new Map<string, number>();
function cpu(): number {
  let ticks = 0;
  perProc.clear();
  for (const p of tree(proc.pid!)) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'latin1').split(') ')[1].split(' ');
      const t = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      ticks += t;
      const name = /qmail-[a-z]+/.exec(readFileSync(`/proc/${p}/cmdline`, 'latin1'))?.[0] ?? String(p);
      perProc.set(name, (perProc.get(name) ?? 0) + t / 100);
    } catch {
      /* gone */
    }
  }
  return ticks / 100;
}

// 1. N sequential injections to one mailbox
const c0 = cpu();
const before = new Map(perProc);
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  const r = await submitMessage({}, { home: qh }, MSG, Buffer.from('Fa@b.example\0Tu0@here.example\0\0'));
  if (r.code !== 0) throw new Error(`inject ${r.code}`);
}
const tInj = performance.now();
while (count(homes[0]) < N) await sleep(2);
const t1 = performance.now();
const rate = N / ((t1 - t0) / 1000);
const cpuN = cpu() - c0;
const cpuSplit = [...perProc].map(([k, v]) => `${k} ${(v - (before.get(k) ?? 0)).toFixed(2)}`).join(', ');

// 2. one message to 1024 mailboxes
const env1024 = Buffer.from(`Fa@b.example\0${homes.slice(1).map((_, k) => `Tu${k + 1}@here.example\0`).join('')}\0`);
const c2 = cpu();
const t2 = performance.now();
await submitMessage({}, { home: qh }, MSG, env1024);
const done1024 = (): boolean => homes.slice(1).every((h) => count(h) === 1);
while (!done1024()) await sleep(5);
const t3 = performance.now();
const s1024 = (t3 - t2) / 1000;
const cpu1024 = cpu() - c2;

// memory of the tree
function tree(pid: number): number[] {
  const kids = new Map<number, number[]>();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const st = readFileSync(`/proc/${p}/stat`, 'latin1');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(p)]);
    } catch {
      /* gone */
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(kids.get(out[i]) ?? []));
  return out;
}
let rss = 0;
let pss = 0;
const pids = tree(proc.pid!);
for (const p of pids) {
  try {
    const m = smaps(p);
    rss += m.rss;
    pss += m.pss;
  } catch {
    /* gone */
  }
}
const logBytes = statSync(logFile).size;
proc.kill('SIGTERM');
await new Promise((r) => proc.on('close', r));
rmSync(work, { recursive: true, force: true });

console.log(`qmail-send tree (${pids.length} processes), ${N} sequential local injections into Maildir:`);
console.log(`  ours: ${rate.toFixed(0)} msgs/s (injection alone ${(N / ((tInj - t0) / 1000)).toFixed(0)}/s)   C qmail (ANCHORS): ${C_RATE} msgs/s   ratio ours/C: ${(rate / C_RATE).toFixed(2)}`);
console.log(`  CPU of the tree: ${cpuN.toFixed(2)} s for ${N} messages (${cpuSplit} s)`);
console.log(`1 message to 1024 mailboxes (concurrencylocal 10):`);
console.log(`  ours: ${s1024.toFixed(2)} s (${(1024 / s1024).toFixed(0)} deliveries/s)   C qmail: ${C_1024} s   ratio ours/C time: ${(s1024 / C_1024).toFixed(2)}`);
console.log(`  CPU of the tree: ${cpu1024.toFixed(2)} s`);
console.log(`memory of the tree after the runs: RSS ${(rss / 1024).toFixed(1)} MB, PSS ${(pss / 1024).toFixed(1)} MB; log ${logBytes} bytes`);
