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
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { queueCreate } from '../src/lib/queue/create.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.argv[2] ?? 2000);
const PN = Number(process.env.BENCH_PROC_N ?? 200);
const SOURCE = '/usr/sbin/smtp-source';
const DEBIAN = '/usr/bin/tcpserver';
const ANCHOR: Record<number, number> = { 1: 255, 10: 375, 20: 450 };
const work = mkdtempSync(`${tmpdir()}/smtpdbench-`);

function freshHome(tag: string): string {
  const h = `${work}/${tag}`;
  queueCreate(h, 23);
  mkdirSync(`${h}/control`);
  writeFileSync(`${h}/control/me`, 'mx.bench\n');
  writeFileSync(`${h}/control/rcpthosts`, 'example.com\n');
  return h;
}

/** Start a tcpserver on a free port; resolves with the child and the port. */
function start(bin: string, home: string): Promise<[ChildProcess, number]> {
  const args = ['-1', '-H', '-R', '-l', 'mx.bench', '-c', '100', '-b', '128', '127.0.0.1', '0', `${ROOT}/bin/qmail-smtpd`];
  return new Promise((res, rej) => {
    const c = spawn(bin, args, { env: { PATH: '/usr/bin:/bin', QMAILHOME: home }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.on('exit', (code) => rej(new Error(`${bin} exited ${code}`)));
    c.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /^(\d+)\n/.exec(out);
      if (m) res([c, Number(m[1])]);
    });
  });
}

function stop(c: ChildProcess): Promise<void> {
  return new Promise((r) => {
    c.removeAllListeners('exit');
    c.on('exit', () => r());
    c.kill('SIGTERM');
  });
}

/** Messages accepted per second for n messages at concurrency s. */
async function run(bin: string, tag: string, s: number, n: number): Promise<number> {
  const home = freshHome(`${tag}-${s}`);
  const [child, port] = await start(bin, home);
  try {
    const t = performance.now();
    execFileSync(SOURCE, ['-s', String(s), '-m', String(n), '-l', '200', '-f', 'bench@source.test', '-t', 'u@example.com', `127.0.0.1:${port}`], { stdio: 'inherit' });
    const secs = (performance.now() - t) / 1000;
    const got = readdirSync(`${home}/queue/todo`).length;
    if (got !== n) throw new Error(`${tag} -s ${s}: ${got} of ${n} messages queued`);
    return n / secs;
  } finally {
    await stop(child);
    rmSync(home, { recursive: true, force: true });
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
    const ours = await run(`${ROOT}/bin/tcpserver`, 'ours', s, N);
    let proc = NaN;
    if (existsSync(DEBIAN) && PN > 0) proc = await run(DEBIAN, 'proc', s, PN);
    const a = ANCHOR[s];
    console.log(
      `${String(s).padStart(4)}  ${ours.toFixed(0).padStart(15)}  ${String(a).padStart(8)}  ${(ours / a).toFixed(2).padStart(5)}   | ${proc.toFixed(1).padStart(42)}  ${(proc / ours).toFixed(3).padStart(13)}`,
    );
  }
  rmSync(work, { recursive: true, force: true });
}

void main();
