/**
 * bench/smtp-e2e: end to end, SMTP in to Maildir: N small messages, one per
 * connection, pushed by postfix's smtp-source at concurrency 1, 10 and 20
 * (as ../shared/ANCHORS.md measured the originals) through our tcpserver
 * running qmail-smtpd in-process, queued in-process (every message fsynced
 * before its 250), then delivered by our qmail-send tree (qmail-start ->
 * qmail-send, qmail-lspawn, qmail-rspawn, qmail-clean; qmail-local in
 * lspawn, every maildir file fsynced) into one Maildir: the embedded setup,
 * where one user owns the queue and the mailbox (as root, everything runs as
 * nobody: qmail never delivers as uid 0).
 *
 *   node bench/smtp-e2e.ts [N] [RUNS]     (default N = 2000, RUNS = 3)
 *
 * Each row starts from an empty queue and mailbox (bench/qmail-tree.ts) and
 * times from smtp-source's first connection until all N messages are in
 * Maildir/new (files appear there only once fsynced: qmail-local links
 * tmp/NAME to new/NAME after the fsync); it then checks that every message arrived exactly once (N
 * files, N distinct `Received: (qmail PID invoked from network)` lines: one
 * message per connection and one pseudo-pid per session) and that the queue
 * is empty. Printed: the acceptance rate (smtp-source done), the end-to-end
 * rate, and the ratio of the latter to the anchors (C qmail 255/284/276,
 * Postfix 507/813/688 msgs/s, same kind of machine, not this run). Rows are
 * repeated RUNS times, interleaved, and the range is printed; then the CPU
 * seconds each program used per 1000 messages (/proc/PID/stat at the end of
 * each row), a figure the machine's other load hardly changes.
 *
 * Scratch trees are removed only at the end (see bench/smtpd.ts: on ext4
 * without a journal freed inodes slow the next creates). They go below
 * $TMPDIR (default /tmp); files created in a subdirectory of /tmp get inodes
 * from the same block groups as everything else other work creates and
 * removes there, whose recently freed inodes every create must skip, so on
 * a shared machine `TMPDIR=/var/tmp` gives steadier figures.
 *
 * BENCH_CONC=20 (or 1,10) runs only those concurrencies.
 * Profiling: BENCH_PROF=DIR runs qmail-send's tree and tcpserver with
 * `--cpu-prof --cpu-prof-dir=DIR` (one .cpuprofile per Node process).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, statSync, watch, writeFileSync } from 'node:fs';
import { median } from './lib.ts';
import { children, delivered, pending, ROOT, setupTree, stopTree, type Tree } from './qmail-tree.ts';

const N = Number(process.argv[2] ?? 2000);
const RUNS = Number(process.argv[3] ?? 3);
const SOURCE = '/usr/sbin/smtp-source';
const C_QMAIL: Record<number, number> = { 1: 255, 10: 284, 20: 276 };
const POSTFIX: Record<number, number> = { 1: 507, 10: 813, 20: 688 };

const PROF = process.env.BENCH_PROF;

/** Start our tcpserver with qmail-smtpd on a free port; resolves with the child and the port. */
function listen(t: Tree): Promise<[ChildProcess, number]> {
  const args = ['-1', '-H', '-R', '-l', 'mx.bench', '-c', '100', '-b', '128', '127.0.0.1', '0', `${ROOT}/bin/qmail-smtpd`];
  const env: Record<string, string> = { PATH: '/usr/bin:/bin', QMAILHOME: t.qh };
  if (PROF) env.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${PROF}`;
  return new Promise((res, rej) => {
    const c = spawn(`${ROOT}/bin/tcpserver`, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.on('exit', (code) => rej(new Error(`tcpserver exited ${code}`)));
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

/** Check that every message arrived exactly once (see module comment). */
function check(t: Tree, s: number): void {
  const files = delivered(t);
  const pids = new Set<string>();
  for (const f of files) {
    const m = /^Received: \(qmail (\d+) invoked from network\)/m.exec(readFileSync(`${t.mbox}/Maildir/new/${f}`, 'latin1'));
    if (!m) throw new Error(`-s ${s}: ${f} has no Received line of ours`);
    pids.add(m[1]);
  }
  if (files.length !== N || pids.size !== N) throw new Error(`-s ${s}: ${files.length} files, ${pids.size} distinct messages, of ${N}`);
  if (pending(t) !== 0) throw new Error(`-s ${s}: ${pending(t)} messages still queued`);
}

/** CPU seconds [user, system] pid has used so far; NaN when it is gone. */
function cpuOf(pid: number): [number, number] {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1].split(' ');
    return [Number(f[11]) / 100, Number(f[12]) / 100];
  } catch {
    return [NaN, NaN];
  }
}

/** CPU seconds [user, system] per `CONCURRENCY PROGRAM`, summed over the runs. */
const cpuTotals = new Map<string, [number, number]>();

/**
 * Start qmail-start's tree with its log going to a file, as to a logger that
 * keeps up (a pipe read by this process would let this event loop pace
 * qmail-send); resolves once qmail-send has logged its first line.
 */
async function startSend(t: Tree, env: Record<string, string>): Promise<ChildProcess> {
  const logFile = `${t.work}/log`;
  const fd = openSync(logFile, 'w');
  const p = spawn(`${ROOT}/bin/qmail-start`, ['./Maildir/'], { env, stdio: ['ignore', fd, 'inherit'] });
  closeSync(fd);
  const end = Date.now() + 30_000;
  while (statSync(logFile).size === 0) {
    if (Date.now() > end || p.exitCode !== null) throw new Error('qmail-send did not start');
    await new Promise((r) => setTimeout(r, 10));
  }
  return p;
}

/**
 * Resolves when Maildir/new holds N files: woken by inotify (fs.watch) on
 * each new name, and every 250 ms regardless; the directory is read only
 * when the events say N may be there (a readdir every few ms cost the
 * machine ~8%). Rejects after 600 s.
 */
function allDelivered(t: Tree, s: number): Promise<void> {
  const dir = `${t.mbox}/Maildir/new`;
  return new Promise((res, rej) => {
    let seen = delivered(t).length;
    const finish = (e?: Error): void => {
      w.close();
      clearInterval(tick);
      clearTimeout(limit);
      if (e) rej(e);
      else res();
    };
    const check = (): void => {
      seen = readdirSync(dir).length;
      if (seen >= N) finish();
    };
    let events = seen;
    const w = watch(dir, () => {
      if (++events >= N) check();
    });
    const tick = setInterval(check, 250);
    const limit = setTimeout(() => finish(new Error(`-s ${s}: ${seen} of ${N} delivered in 600 s`)), 600_000);
    check();
  });
}

/** One row: [accepted/s, end-to-end/s] for N messages at concurrency s. */
async function run(s: number, trees: string[]): Promise<[number, number]> {
  const t = setupTree(`e2e-${s}-`);
  trees.push(t.work);
  writeFileSync(`${t.qh}/control/rcpthosts`, 'here.example\n');
  const env = PROF ? { ...t.env, NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${PROF}` } : t.env;
  const send = await startSend(t, env);
  const [server, port] = await listen(t);
  try {
    const t0 = performance.now();
    await new Promise<void>((res, rej) => {
      const c = spawn(SOURCE, ['-s', String(s), '-m', String(N), '-l', '200', '-f', 'bench@source.test', '-t', 'a@here.example', `127.0.0.1:${port}`], { stdio: ['ignore', 'inherit', 'inherit'] });
      c.on('close', (code) => (code === 0 ? res() : rej(new Error(`smtp-source exited ${code}`))));
    });
    const tAcc = performance.now();
    await allDelivered(t, s);
    const tAll = performance.now();
    const [lspawn, rspawn, clean] = children(send.pid!);
    const used: Array<[string, [number, number]]> = [['tcpserver+qmail-smtpd', cpuOf(server.pid!)], ['qmail-send', cpuOf(send.pid!)], ['qmail-lspawn', cpuOf(lspawn)], ['qmail-rspawn', cpuOf(rspawn)], ['qmail-clean', cpuOf(clean)]];
    for (const [k, [u, y]] of used) {
      const t = cpuTotals.get(`${s} ${k}`) ?? [0, 0];
      cpuTotals.set(`${s} ${k}`, [t[0] + u, t[1] + y]);
    }
    // let qmail-send finish its bookkeeping (info unlinked, qmail-clean) before checking the queue
    for (let i = 0; i < 500 && pending(t) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    check(t, s);
    return [(N * 1000) / (tAcc - t0), (N * 1000) / (tAll - t0)];
  } finally {
    await stop(server);
    await stopTree(send);
  }
}

function range(xs: number[]): string {
  const ok = xs.filter((x) => !Number.isNaN(x));
  if (ok.length === 0) return 'NaN';
  const lo = Math.min(...ok).toFixed(0);
  const hi = Math.max(...ok).toFixed(0);
  return lo === hi ? lo : `${lo}-${hi}`;
}

async function main(): Promise<void> {
  if (!existsSync(SOURCE)) {
    console.log(`bench/smtp-e2e: ${SOURCE} not installed (apt-get install postfix, then postfix stop); skipped`);
    return;
  }
  const trees: string[] = [];
  const conc = (process.env.BENCH_CONC ?? '1,10,20').split(',').map(Number);
  const acc = new Map<number, number[]>(conc.map((s) => [s, []]));
  const e2e = new Map<number, number[]>(conc.map((s) => [s, []]));
  console.log(`SMTP in to Maildir/new, ${N} messages, one per connection, smtp-source -l 200, ${RUNS} runs`);
  for (let r = 0; r < RUNS; r++) {
    for (const s of conc) {
      const [a, e] = await run(s, trees).catch((err: unknown): [number, number] => {
        console.log(`-s ${s}: failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
        return [NaN, NaN];
      });
      acc.get(s)!.push(a);
      e2e.get(s)!.push(e);
      console.log(`run ${r + 1} -s ${String(s).padStart(2)}: accepted ${a.toFixed(0)}/s, in Maildir ${e.toFixed(0)}/s`);
    }
  }
  console.log('conc  accepted/s  end-to-end/s  C qmail  ratio   Postfix  ratio   (median ratios)');
  for (const s of conc) {
    const med = median(e2e.get(s)!.filter((x) => !Number.isNaN(x)));
    console.log(
      `${String(s).padStart(4)}  ${range(acc.get(s)!).padStart(10)}  ${range(e2e.get(s)!).padStart(12)}  ${String(C_QMAIL[s]).padStart(7)}  ${(med / C_QMAIL[s]).toFixed(2).padStart(5)}   ${String(POSTFIX[s]).padStart(7)}  ${(med / POSTFIX[s]).toFixed(2).padStart(5)}`,
    );
  }
  console.log('CPU seconds per 1000 messages, user+system (mean over the runs):');
  for (const s of conc) {
    const per = (v: number): string => ((v * 1000) / (N * RUNS)).toFixed(2);
    const parts = [...cpuTotals].filter(([k]) => k.startsWith(`${s} `)).map(([k, [u, y]]) => `${k.slice(k.indexOf(' ') + 1)} ${per(u)}+${per(y)}`);
    console.log(`${String(s).padStart(4)}  ${parts.join(', ')}`);
  }
  for (const w of trees) rmSync(w, { recursive: true, force: true });
}

void main();
