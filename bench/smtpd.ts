/**
 * bench/smtpd: SMTP messages accepted per second, one message per
 * connection, with postfix's smtp-source (as ../shared/ANCHORS.md measured
 * the C originals: `smtp-source -s 1 / 10 / 20`, 2000 small messages).
 *
 *   node bench/smtpd.ts [N]      (default N = 2000; BENCH_PROC_N for the per-process rows, default 200)
 *
 * Rows:
 *  - ours: our tcpserver running qmail-smtpd in-process, queue written
 *    in-process (every message fsynced before its 250), concurrency 1/10/20
 *  - process: Debian's tcpserver exec'ing our qmail-smtpd per connection
 *    (a Node start per message), fewer messages (BENCH_PROC_N)
 * against the C anchors 255/375/450 msgs/s (qmail 1.03 + ucspi-tcp, same
 * kind of machine, not this run) and the ratio. Each row starts from an
 * empty queue in a tmpdir and checks that every message reached todo/.
 * Nothing leaves 127.0.0.1; no qmail-send runs, so messages stay queued.
 * Rows' queues are not removed: the run's `chattr +T` scratch directory
 * goes into the benches' trash at the end, which no bench removes
 * (bench/lib.ts says why: on ext4 without a journal, this
 * machine's /, removing a row's 4000 files made the next rows' and runs'
 * creates measurably slower, a cost of the harness, not of the server). For
 * the same reason, figures are only comparable on a machine where nothing
 * removed many files in the last few minutes.
 *
 * Then memory: our tcpserver with 20 and 60 idle sessions open (each past
 * its greeting and EHLO), RSS and PSS of the whole tree from /proc, against
 * ANCHORS.md's 60 idle SMTP sessions: C qmail 86 MB / 8.6 MB, Postfix
 * 612 MB / 89 MB (whole trees).
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { queueCreate } from '../src/lib/queue/create.ts';
import { scratchDir, smtpListener, stopChild, toTrash, TRASH } from './lib.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.argv[2] ?? 2000);
const PN = Number(process.env.BENCH_PROC_N ?? 200);
const SOURCE = '/usr/sbin/smtp-source';
const DEBIAN = '/usr/bin/tcpserver';
const ANCHOR: Record<number, number> = { 1: 255, 10: 375, 20: 450 };
const work = scratchDir('smtpdbench-');

function freshHome(tag: string): string {
  const h = `${work}/${tag}`;
  queueCreate(h, 23);
  mkdirSync(`${h}/control`);
  writeFileSync(`${h}/control/me`, 'mx.bench\n');
  writeFileSync(`${h}/control/rcpthosts`, 'example.com\n');
  return h;
}

/** Start tcpserver `bin` (ours or Debian's) with our qmail-smtpd for home. */
function start(bin: string, home: string): Promise<[ChildProcess, number]> {
  return smtpListener(bin, { PATH: '/usr/bin:/bin', QMAILHOME: home });
}

/** Messages accepted per second for n messages at concurrency s. */
async function run(bin: string, tag: string, s: number, n: number): Promise<number> {
  const home = freshHome(`${tag}-${s}`);
  const [child, port] = await start(bin, home);
  try {
    const t = performance.now();
    execFileSync(SOURCE, ['-s', String(s), '-m', String(n), '-l', '200', '-f', 'bench@source.test', '-t', 'u@example.com', `127.0.0.1:${port}`], { stdio: ['ignore', 'inherit', 'pipe'] });
    const secs = (performance.now() - t) / 1000;
    const got = readdirSync(`${home}/queue/todo`).length;
    if (got !== n) throw new Error(`${tag} -s ${s}: ${got} of ${n} messages queued`);
    return n / secs;
  } finally {
    // the queue stays until the whole run is over: see the module comment
    await stopChild(child);
  }
}

/** RSS and PSS (kB) of pid from /proc. */
function mem(pid: number): [number, number] {
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] ?? NaN);
  const pss = Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'))?.[1] ?? NaN);
  return [rss, pss];
}

/** Open n sessions, each answered through EHLO; resolves with the sockets. */
async function idle(port: number, n: number): Promise<Socket[]> {
  const one = (): Promise<Socket> =>
    new Promise((res, rej) => {
      const s = connect({ host: '127.0.0.1', port });
      let got = '';
      s.on('error', rej);
      s.on('data', (b) => {
        got += b.toString();
        if (got.startsWith('220 ') && !got.includes('EHLO-sent')) {
          got += 'EHLO-sent';
          s.write('EHLO idle\r\n');
        } else if (/250 8BITMIME\r\n/.test(got)) res(s);
      });
    });
  const out: Socket[] = [];
  for (let i = 0; i < n; i++) out.push(await one());
  return out;
}

async function memory(): Promise<void> {
  const home = freshHome('mem');
  const [child, port] = await start(`${ROOT}/bin/tcpserver`, home);
  try {
    await new Promise((r) => setTimeout(r, 300));
    const base = mem(child.pid!);
    console.log(`memory: our tcpserver, no session: RSS ${(base[0] / 1024).toFixed(1)} MB, PSS ${(base[1] / 1024).toFixed(1)} MB`);
    const socks: Socket[] = [];
    for (const n of [20, 60]) {
      socks.push(...(await idle(port, n - socks.length)));
      await new Promise((r) => setTimeout(r, 300));
      const m = mem(child.pid!);
      console.log(`memory: ${n} idle sessions (in-process): RSS ${(m[0] / 1024).toFixed(1)} MB, PSS ${(m[1] / 1024).toFixed(1)} MB` + (n === 60 ? '   (C qmail tree: 86 / 8.6 MB, Postfix: 612 / 89 MB)' : ''));
    }
    for (const s of socks) s.destroy();
  } finally {
    await stopChild(child);
  }
}

async function main(): Promise<void> {
  if (!existsSync(SOURCE)) {
    console.log(`bench/smtpd: ${SOURCE} not installed (apt-get install postfix, then postfix stop); skipped`);
    return;
  }
  console.log(`qmail-smtpd: messages accepted/s, one per connection, smtp-source -l 200; ours ${N} msgs, process ${PN} msgs`);
  console.log('conc  ours(in-process)  C anchor  ratio   | Debian tcpserver + our qmail-smtpd process  ratio to ours');
  for (const s of [1, 10, 20]) {
    // a failed row (e.g. dist/ rebuilt under a running server) prints NaN and the run goes on
    const tryRun = (bin: string, tag: string, n: number): Promise<number> =>
      run(bin, tag, s, n).catch((e: unknown) => {
        console.log(`${tag} -s ${s}: failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
        return NaN;
      });
    const ours = await tryRun(`${ROOT}/bin/tcpserver`, 'ours', N);
    let proc = NaN;
    if (existsSync(DEBIAN) && PN > 0) proc = await tryRun(DEBIAN, 'proc', PN);
    const a = ANCHOR[s];
    console.log(
      `${String(s).padStart(4)}  ${ours.toFixed(0).padStart(15)}  ${String(a).padStart(8)}  ${(ours / a).toFixed(2).padStart(5)}   | ${proc.toFixed(1).padStart(42)}  ${(proc / ours).toFixed(3).padStart(13)}`,
    );
  }
  await memory();
  toTrash(work);
  console.log(`scratch trees kept in ${TRASH} (no bench removes it: rm -r it when done benchmarking)`);
}

void main();
