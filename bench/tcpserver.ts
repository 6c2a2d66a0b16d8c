/**
 * bench/tcpserver: connections per second through tcpserver, ours vs
 * Debian's in the same run, and memory with 40 open sessions.
 *
 *   node bench/tcpserver.ts [CONNECTIONS] [RUNS]   (defaults 2000, 3)
 *
 * Rows (median of RUNS, each CONNECTIONS connections, at concurrency 1, 10
 * and 20; every server runs with -c 100 -b 128 -R -H -l0 so only accept and
 * program start are measured; a connection counts when the client has read
 * the answer and seen the close):
 *  - external `echo hi`: our tcpserver fork/execs /bin/echo vs Debian's.
 *  - in-process: our tcpserver running our rblsmtpd in-process (RBLSMTPD=-x,
 *    -t0: answers `553 x` and ends) vs Debian's tcpserver fork/exec'ing
 *    Debian's rblsmtpd the same way, and vs Debian's `echo hi` (the issue's
 *    target: in-process at least the C fork/exec figure).
 * Memory: 40 sessions held open (rblsmtpd conversations, no -t0): RSS of
 * our tcpserver process vs Debian's tcpserver plus its 40 rblsmtpd children
 * (sum of VmRSS from /proc).
 * ../shared/ANCHORS.md: C `tcpserver ... echo hi` 878/s one at a time,
 * 1724/s with 10 in flight.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './lib.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OURS = `${ROOT}/bin/tcpserver`;
const DEBIAN = '/usr/bin/tcpserver';
const N = Number(process.argv[2] ?? 2000);
const RUNS = Number(process.argv[3] ?? 3);
const FLAGS = ['-c', '100', '-b', '128', '-R', '-H', '-l0', '127.0.0.1', '0'];

interface Srv {
  child: ChildProcess;
  port: number;
}

function start(bin: string, prog: string[], env: NodeJS.ProcessEnv): Promise<Srv> {
  return new Promise((res, rej) => {
    const child = spawn(bin, ['-1', ...FLAGS, ...prog], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.on('exit', (c) => rej(new Error(`${bin} exited ${c}`)));
    child.stdout!.on('data', (b) => {
      out += b;
      const m = /^(\d+)\n/.exec(out);
      if (m) res({ child, port: Number(m[1]) });
    });
  });
}

function stop(s: Srv): Promise<void> {
  return new Promise((r) => {
    if (s.child.exitCode !== null) return r();
    s.child.removeAllListeners('exit');
    s.child.on('exit', () => r());
    s.child.kill('SIGTERM');
  });
}

function one(port: number): Promise<void> {
  return new Promise((res, rej) => {
    const s = connect(port, '127.0.0.1');
    let n = 0;
    s.on('data', (b) => (n += b.length));
    s.on('error', rej);
    s.on('close', () => (n > 0 ? res() : rej(new Error('no answer'))));
  });
}

/** Connections per second for n connections with `conc` in flight. */
async function rate(port: number, n: number, conc: number): Promise<number> {
  let next = 0;
  const t0 = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      await one(port);
    }
  };
  await Promise.all(Array.from({ length: conc }, worker));
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function measure(bin: string, prog: string[], env: NodeJS.ProcessEnv, conc: number): Promise<number> {
  const s = await start(bin, prog, env);
  try {
    await rate(s.port, Math.min(100, N), conc); // warm-up
    const r: number[] = [];
    for (let i = 0; i < RUNS; i++) r.push(await rate(s.port, N, conc));
    return median(r);
  } finally {
    await stop(s);
  }
}

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** RSS of pid plus all its descendants, kB. */
function treeRssKb(pid: number): number {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
    } catch {
      /* gone */
    }
  }
  let sum = 0;
  const walk = (p: number): void => {
    sum += rssKb(p);
    for (const k of kids.get(p) ?? []) walk(k);
  };
  walk(pid);
  return sum;
}

async function memory(bin: string, rbl: string, env: NodeJS.ProcessEnv): Promise<number> {
  const s = await start(bin, [rbl, 'true'], env);
  const socks: Socket[] = [];
  try {
    await Promise.all(
      Array.from(
        { length: 40 },
        () =>
          new Promise<void>((res) => {
            const c = connect(s.port, '127.0.0.1');
            socks.push(c);
            c.once('data', () => res());
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 300));
    return treeRssKb(s.child.pid!);
  } finally {
    for (const c of socks) c.destroy();
    await stop(s);
  }
}

const env = { PATH: `${ROOT}/bin:/usr/bin:/bin` };
const rblEnv = { ...env, RBLSMTPD: '-x' };
const fmt = (x: number): string => x.toFixed(0).padStart(7);
console.log(`tcpserver connections/s, ${N} connections, median of ${RUNS} (higher is better)`);
console.log('case                                      conc    ours  debian  ours/debian');
for (const conc of [1, 10, 20]) {
  const oe = await measure(OURS, ['/bin/echo', 'hi'], env, conc);
  const de = await measure(DEBIAN, ['/bin/echo', 'hi'], env, conc);
  console.log(`external echo hi                          ${String(conc).padStart(4)} ${fmt(oe)} ${fmt(de)}  ${(oe / de).toFixed(2)}`);
  const oi = await measure(OURS, ['rblsmtpd', '-t0', 'true'], rblEnv, conc);
  const di = await measure(DEBIAN, ['/usr/bin/rblsmtpd', '-t0', 'true'], rblEnv, conc);
  console.log(`in-process rblsmtpd vs Debian rblsmtpd    ${String(conc).padStart(4)} ${fmt(oi)} ${fmt(di)}  ${(oi / di).toFixed(2)}`);
  console.log(`in-process rblsmtpd vs Debian echo hi     ${String(conc).padStart(4)} ${fmt(oi)} ${fmt(de)}  ${(oi / de).toFixed(2)}`);
}
const om = await memory(OURS, 'rblsmtpd', rblEnv);
const dm = await memory(DEBIAN, '/usr/bin/rblsmtpd', rblEnv);
console.log(`memory, 40 open rblsmtpd sessions, RSS of the tree: ours ${(om / 1024).toFixed(1)} MB, debian ${(dm / 1024).toFixed(1)} MB, ratio ${(om / dm).toFixed(2)}`);
