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
 * a freshly started system. Before the clock starts, that system carries
 * W = BENCH_WARMUP messages (default 1000; 0 for cold rows) the same way,
 * untimed, until they are delivered and its queue is empty again: a row
 * measures a server that has been running, as a mail server is, and not a
 * Node process's first seconds, when V8 is still compiling its hot code on
 * the same two CPUs (cold 2000-message rows cost ours about 10% more
 * machine CPU per message than 6000-message rows; Postfix's C processes
 * have no such start, and it gets the same warm-up). The clock then runs
 * from smtp-source's first connection until all W + N messages are in
 * Maildir/new (files appear there only once fsynced: qmail-local links
 * tmp/NAME to new/NAME after the fsync); it then checks that every message
 * arrived exactly once (W + N files, W + N distinct `Received: (qmail PID
 * invoked from network)` lines: one message per connection and one
 * pseudo-pid per session) and that the queue is empty.
 *
 * Next to each of our rows, Debian's Postfix (when installed and we are
 * root) does the same in the same run: a private instance (`postfix -c DIR`)
 * whose config is /etc/postfix copied below the scratch tree and changed only
 * where the bench needs it (queue and data directories in the scratch tree,
 * smtpd on 127.0.0.1 and a free port only, mydestination here.example, `a`
 * an alias for the scratch Maildir/ delivered by local(8) as nobody, nothing
 * relayed and no DNS: default_transport = error, smtp_dns_support_level =
 * disabled, no resolv.conf in the chroot); it is warmed up and timed the
 * same way, checked for W + N files with as many distinct Postfix queue
 * ids, then stopped (`postfix -c
 * DIR stop`, waiting until no process of that instance is left). /etc/postfix
 * and the system's queue are never touched. The bench turns itself into
 * nobody for our rows, so the Postfix rows run in a helper process forked
 * first that stays root (it stops a running instance on ^C or when the bench
 * goes away). Without Postfix a line says so and the rows are
 * compared with ANCHORS.md only.
 *
 * Printed: the acceptance rate (smtp-source done), the end-to-end rate, for
 * ours and Postfix, the ratio ours/Postfix per run and of the medians; and
 * the ratio to the anchors (C qmail 255/284/276, Postfix 507/813/688 msgs/s,
 * same kind of machine, not this run). Rows are repeated RUNS times,
 * interleaved (which system goes first alternates from run to run), and
 * the range is printed; then the whole machine's CPU
 * seconds per 1000 messages (/proc/stat, from the first connection to the
 * last delivery: every process and the kernel, ours and Postfix's alike),
 * and the CPU seconds each of our programs used per 1000 messages
 * (/proc/PID/stat, from the clock's start to the last delivery).
 *
 * Scratch trees are not removed during or right after a run: they go in
 * one `chattr +T` directory made for the run below $TMPDIR (default /tmp),
 * so that each tree, ours and Postfix's alike, gets block groups of its
 * own; at the end that directory is moved into the benches' trash, which
 * no bench removes (bench/lib.ts says why: on ext4 without a journal a run
 * right after a removal measured that removal more than itself). Remove the
 * trash by hand when done.
 *
 * BENCH_ACCEPT=1: acceptance alone, for both systems in the same run, as
 * the issue's acceptance target compares them: no delivery running (our
 * qmail-send tree is not started; Postfix's qmgr service is taken out of
 * the private master.cf, so cleanup leaves each message in incoming/);
 * each row times smtp-source only, checks W + N messages in todo/ (ours) or
 * incoming/ (Postfix), and prints accepted/s, the ratios, and the machine
 * CPU per 1000 messages.
 * BENCH_CONC=20 (or 1,10) runs only those concurrencies.
 * Profiling: BENCH_PROF=DIR runs qmail-send's tree and tcpserver with
 * `--cpu-prof --cpu-prof-dir=DIR` (one .cpuprofile per Node process).
 * BENCH_NODE_OPTIONS='FLAGS' gives them NODE_OPTIONS (V8 flags to try).
 * BENCH_POSTFIX=0 leaves Postfix out (quick comparisons of our own builds).
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, constants, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, watch, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { maildirHome, median, scratchDir, smtpListener, stopChild, toTrash, TRASH } from './lib.ts';
import { children, delivered, pending, ROOT, setupTree, stopTree, type Tree } from './qmail-tree.ts';

/** Set in the root helper process that runs the Postfix rows (see postfixHelper()). */
const HELPER = process.argv[2] === '--postfix-helper';
const ARGS = process.argv.slice(HELPER ? 3 : 2);
const N = Number(ARGS[0] ?? 2000);
const RUNS = Number(ARGS[1] ?? 3);
/** BENCH_WARMUP: messages each system carries, untimed, before a row's clock starts (see the module comment). */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1000);
const SOURCE = '/usr/sbin/smtp-source';
const C_QMAIL: Record<number, number> = { 1: 255, 10: 284, 20: 276 };
const POSTFIX: Record<number, number> = { 1: 507, 10: 813, 20: 688 };

/** BENCH_ACCEPT=1: acceptance alone (see the module comment). */
const ACCEPT = process.env.BENCH_ACCEPT === '1';
/** The ANCHORS figures for acceptance alone (smtp-source, 1 message per connection). */
const C_QMAIL_ACC: Record<number, number> = { 1: 255, 10: 375, 20: 450 };
const POSTFIX_ACC: Record<number, number> = { 1: 507, 10: 972, 20: 1031 };

const PROF = process.env.BENCH_PROF;
/** BENCH_NODE_OPTIONS: NODE_OPTIONS for our processes (e.g. V8 flags to try), with BENCH_PROF's added. */
const NODE_OPTS = [process.env.BENCH_NODE_OPTIONS ?? '', PROF ? `--cpu-prof --cpu-prof-dir=${PROF}` : ''].filter((x) => x !== '').join(' ');

/** Start our tcpserver with qmail-smtpd on a free port; resolves with the child and the port. */
function listen(t: Tree): Promise<[ChildProcess, number]> {
  const env: Record<string, string> = { PATH: '/usr/bin:/bin', QMAILHOME: t.qh };
  if (NODE_OPTS) env.NODE_OPTIONS = NODE_OPTS;
  return smtpListener(`${ROOT}/bin/tcpserver`, env);
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
  if (files.length !== WARMUP + N || pids.size !== WARMUP + N) throw new Error(`-s ${s}: ${files.length} files, ${pids.size} distinct messages, of ${WARMUP + N}`);
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

/**
 * CPU seconds the whole machine has been busy so far (/proc/stat: all but
 * idle and iowait, all CPUs): a row's difference is what it cost every
 * process involved (the mail system, smtp-source, the kernel's work for
 * them), the same measure for ours and Postfix's.
 */
function machineBusy(): number {
  const f = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return (total - f[3] - f[4]) / 100;
}

/** CPU seconds [user, system] per `CONCURRENCY PROGRAM`, summed over the runs. */
const cpuTotals = new Map<string, [number, number]>();
/** Add what one program used between two cpuOf() readings to cpuTotals[key]. */
function addCpu(key: string, [u0, y0]: [number, number], [u1, y1]: [number, number]): void {
  const [u, y] = cpuTotals.get(key) ?? [0, 0];
  cpuTotals.set(key, [u + u1 - u0, y + y1 - y0]);
}

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
 * Resolves when Maildir/new holds n files: woken by inotify (fs.watch) on
 * each new name, and every 250 ms regardless; the directory is read only
 * when the events say n may be there (a readdir every few ms cost the
 * machine ~8%). Rejects after 600 s.
 */
function allDelivered(dir: string, s: number, n: number): Promise<void> {
  return new Promise((res, rej) => {
    let seen = readdirSync(dir).length;
    const finish = (e?: Error): void => {
      w.close();
      clearInterval(tick);
      clearTimeout(limit);
      if (e) rej(e);
      else res();
    };
    const check = (): void => {
      seen = readdirSync(dir).length;
      if (seen >= n) finish();
    };
    let events = seen;
    const w = watch(dir, () => {
      if (++events >= n) check();
    });
    const tick = setInterval(check, 250);
    const limit = setTimeout(() => finish(new Error(`-s ${s}: ${seen} of ${n} delivered in 600 s`)), 600_000);
    check();
  });
}

/** Run smtp-source's n messages at concurrency s against 127.0.0.1:port; resolves when it exits 0. */
function source(s: number, port: number, n = N): Promise<void> {
  return new Promise<void>((res, rej) => {
    const c = spawn(SOURCE, ['-s', String(s), '-m', String(n), '-l', '200', '-f', 'bench@source.test', '-t', 'a@here.example', `127.0.0.1:${port}`], { stdio: ['ignore', 'inherit', 'inherit'] });
    c.on('close', (code) => (code === 0 ? res() : rej(new Error(`smtp-source exited ${code}`))));
  });
}

/** Resolves once done() holds (polled every 10 ms), or after 5 s regardless. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
}

/** An acceptance-alone row of ours (BENCH_ACCEPT): [accepted/s, NaN, machine CPU seconds per 1000 messages]; N messages must be in todo/. */
async function runAccept(s: number): Promise<[number, number, number]> {
  const t = setupTree(`acc-${s}-`);
  writeFileSync(`${t.qh}/control/rcpthosts`, 'here.example\n');
  const [server, port] = await listen(t);
  try {
    if (WARMUP > 0) await source(s, port, WARMUP);
    const [t0, b0, c0] = [performance.now(), machineBusy(), cpuOf(server.pid!)];
    await source(s, port);
    const [tAcc, b1] = [performance.now(), machineBusy()];
    addCpu(`${s} tcpserver+qmail-smtpd`, c0, cpuOf(server.pid!));
    const queued = readdirSync(`${t.qh}/queue/todo`).length;
    if (queued !== WARMUP + N) throw new Error(`-s ${s}: ${queued} of ${WARMUP + N} messages in todo/`);
    return [(N * 1000) / (tAcc - t0), NaN, ((b1 - b0) * 1000) / N];
  } finally {
    await stopChild(server);
  }
}

/** One row: [accepted/s, end-to-end/s, machine CPU seconds per 1000 messages] for N messages at concurrency s. */
async function run(s: number): Promise<[number, number, number]> {
  if (ACCEPT) return runAccept(s);
  const t = setupTree(`e2e-${s}-`);
  writeFileSync(`${t.qh}/control/rcpthosts`, 'here.example\n');
  const env = NODE_OPTS ? { ...t.env, NODE_OPTIONS: NODE_OPTS } : t.env;
  const send = await startSend(t, env);
  const [server, port] = await listen(t);
  const newDir = `${t.mbox}/Maildir/new`;
  try {
    if (WARMUP > 0) {
      await source(s, port, WARMUP);
      await allDelivered(newDir, s, WARMUP);
      await until(() => pending(t) === 0);
    }
    const [lspawn, rspawn, clean] = children(send.pid!);
    const programs: Array<[string, number]> = [['tcpserver+qmail-smtpd', server.pid!], ['qmail-send', send.pid!], ['qmail-lspawn', lspawn], ['qmail-rspawn', rspawn], ['qmail-clean', clean]];
    const c0 = programs.map(([, pid]) => cpuOf(pid));
    const [t0, b0] = [performance.now(), machineBusy()];
    await source(s, port);
    const tAcc = performance.now();
    await allDelivered(newDir, s, WARMUP + N);
    const [tAll, b1] = [performance.now(), machineBusy()];
    programs.forEach(([k, pid], i) => addCpu(`${s} ${k}`, c0[i], cpuOf(pid)));
    // let qmail-send finish its bookkeeping (info unlinked, qmail-clean) before checking the queue
    await until(() => pending(t) === 0);
    check(t, s);
    return [(N * 1000) / (tAcc - t0), (N * 1000) / (tAll - t0), ((b1 - b0) * 1000) / N];
  } finally {
    await stopChild(server);
    await stopTree(send);
  }
}

const POSTFIX_BIN = '/usr/sbin/postfix';
/** Files Debian's configure-instance.sh copies into a chroot, less resolv.conf (so a stray lookup can only ask 127.0.0.1). */
const CHROOT_FILES = ['localtime', 'services', 'hosts', 'host.conf', 'nsswitch.conf'];

/** A free TCP port on 127.0.0.1 (bound, read and released). */
function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

/** Resolves once something accepts connections on 127.0.0.1:port; rejects after 30 s. */
async function accepting(port: number): Promise<void> {
  const end = Date.now() + 30_000;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const c = createConnection({ host: '127.0.0.1', port }, () => {
        c.destroy();
        res(true);
      });
      c.on('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listening on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Pids (> 0) of processes whose environment or arguments name the private config directory conf. */
function postfixPids(conf: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    const pid = Number(e);
    if (!(pid > 0) || pid === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
      if (env.includes(`MAIL_CONFIG=${conf}`) || argv.includes(conf)) pids.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * A private Postfix instance below work: Debian's /etc/postfix copied to
 * work/etc and changed only where the bench needs it (queue and data
 * directories below work; smtpd on 127.0.0.1:port only; mydestination
 * here.example; `a` an alias for the Maildir work/mbox/Maildir/, delivered as
 * default_privs (nobody) because the alias table is root's; nothing relayed:
 * default_transport = error, no DNS). /etc/postfix and the system's spool
 * are not touched. Returns the config directory and the Maildir/new path.
 */
function postfixSetup(work: string, port: number): { conf: string; newDir: string } {
  const conf = `${work}/etc`;
  const queue = `${work}/spool`;
  const data = `${work}/lib`;
  cpSync('/etc/postfix', conf, { recursive: true });
  mkdirSync(queue, { mode: 0o755 });
  mkdirSync(`${queue}/etc`, { mode: 0o755 });
  for (const f of CHROOT_FILES) if (existsSync(`/etc/${f}`)) copyFileSync(`/etc/${f}`, `${queue}/etc/${f}`);
  mkdirSync(data, { mode: 0o700 });
  const pf = Number(execFileSync('id', ['-u', 'postfix'], { encoding: 'latin1' }).trim());
  chownSync(data, pf, 0);
  maildirHome(`${work}/mbox`);
  for (const d of ['', '/Maildir', '/Maildir/tmp', '/Maildir/new', '/Maildir/cur']) chownSync(`${work}/mbox${d}`, 65534, 65534);
  writeFileSync(`${work}/aliases`, `a: ${work}/mbox/Maildir/\n`);
  const settings = [
    `queue_directory=${queue}`,
    `data_directory=${data}`,
    'inet_interfaces=127.0.0.1',
    'inet_protocols=ipv4',
    'mydestination=here.example',
    'mynetworks=127.0.0.0/8',
    `alias_maps=hash:${work}/aliases`,
    `alias_database=hash:${work}/aliases`,
    'home_mailbox=Maildir/',
    'relayhost=',
    'default_transport=error',
    'relay_transport=error',
    'smtp_dns_support_level=disabled',
    'smtp_host_lookup=native',
    'lmtp_host_lookup=native',
    // acceptance alone: smtpd waits in_flow_delay for a token from qmgr before each message (flow control)
    ...(ACCEPT ? ['in_flow_delay=0s'] : []),
  ];
  execFileSync('postconf', ['-c', conf, '-e', ...settings]);
  execFileSync('postalias', ['-c', conf, `hash:${work}/aliases`]);
  let master = readFileSync(`${conf}/master.cf`, 'latin1').replace(/^smtp(\s+)inet\s/m, `127.0.0.1:${port} inet `);
  if (!master.includes(`127.0.0.1:${port} inet`)) throw new Error('no smtp inet service in master.cf');
  // acceptance alone: no queue manager, so cleanup's messages stay in incoming/
  if (ACCEPT) master = master.replace(/^qmgr\s/m, '#$&');
  writeFileSync(`${conf}/master.cf`, master);
  return { conf, newDir: `${work}/mbox/Maildir/new` };
}

/** Stop the instance (postfix stop), wait for all its processes to exit, SIGKILL stragglers after 20 s. */
async function postfixStop(conf: string): Promise<void> {
  try {
    execFileSync(POSTFIX_BIN, ['-c', conf, 'stop'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch {
    // not running: the wait below still looks
  }
  const end = Date.now() + 20_000;
  let left = postfixPids(conf);
  while (left.length > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    left = postfixPids(conf);
  }
  for (const pid of left) if (pid > 0) process.kill(pid, 'SIGKILL');
}

/**
 * One Postfix row: [accepted/s, end-to-end/s, machine CPU seconds per 1000
 * messages] for N messages at concurrency s, timed as ours; checks N files
 * with N distinct Postfix queue ids.
 */
async function runPostfix(s: number, trees: string[]): Promise<[number, number, number]> {
  const work = mkdtempSync(`${tmpdir()}/e2e-pf-${s}-`);
  chmodSync(work, 0o755);
  trees.push(work);
  const port = await freePort();
  const { conf, newDir } = postfixSetup(work, port);
  let qmgrFifo = -1;
  try {
    try {
      execFileSync(POSTFIX_BIN, ['-c', conf, 'start'], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      throw new Error(`postfix start: ${String((e as { stderr?: Buffer }).stderr ?? e).trim().replace(/\n/g, '; ')}`);
    }
    await accepting(port);
    // acceptance alone: cleanup pokes qmgr's FIFO for every message; a reader that never
    // reads keeps that poke as quiet and cheap as with qmgr there
    if (ACCEPT) qmgrFifo = quietQmgr(work);
    if (WARMUP > 0) {
      await source(s, port, WARMUP);
      if (!ACCEPT) {
        await allDelivered(newDir, s, WARMUP);
        const queued = (): number => ['incoming', 'active'].reduce((n, d) => n + readdirSync(`${work}/spool/${d}`).length, 0);
        await until(() => queued() === 0);
      }
    }
    const [t0, b0] = [performance.now(), machineBusy()];
    await source(s, port);
    const tAcc = performance.now();
    if (ACCEPT) {
      const b1 = machineBusy();
      const queued = readdirSync(`${work}/spool/incoming`).length;
      if (queued !== WARMUP + N) throw new Error(`postfix -s ${s}: ${queued} of ${WARMUP + N} messages in incoming/`);
      return [(N * 1000) / (tAcc - t0), NaN, ((b1 - b0) * 1000) / N];
    }
    await allDelivered(newDir, s, WARMUP + N);
    const [tAll, b1] = [performance.now(), machineBusy()];
    const ids = new Set<string>();
    const files = readdirSync(newDir);
    for (const f of files) {
      const m = /\(Postfix\) with E?SMTP id (\w+)/.exec(readFileSync(`${newDir}/${f}`, 'latin1'));
      if (!m) throw new Error(`postfix -s ${s}: ${f} has no Received line of Postfix's`);
      ids.add(m[1]);
    }
    if (files.length !== WARMUP + N || ids.size !== WARMUP + N) throw new Error(`postfix -s ${s}: ${files.length} files, ${ids.size} distinct messages, of ${WARMUP + N}`);
    return [(N * 1000) / (tAcc - t0), (N * 1000) / (tAll - t0), ((b1 - b0) * 1000) / N];
  } finally {
    if (qmgrFifo >= 0) closeSync(qmgrFifo);
    await postfixStop(conf);
  }
}

/** public/qmgr made as Postfix makes it (a FIFO, postfix:postdrop, 0622) and held open for reading; returns the descriptor. */
function quietQmgr(work: string): number {
  const fifo = `${work}/spool/public/qmgr`;
  execFileSync('mkfifo', ['-m', '0622', fifo]);
  execFileSync('chown', ['postfix:postdrop', fifo]);
  return openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
}

/** Why Postfix cannot be measured here, or '' when it can. */
function postfixMissing(): string {
  if (process.env.BENCH_POSTFIX === '0') return 'BENCH_POSTFIX=0';
  if (!existsSync(POSTFIX_BIN)) return `${POSTFIX_BIN} not installed`;
  if (process.getuid?.() !== 0) return 'not root';
  try {
    execFileSync('id', ['-u', 'postfix'], { stdio: 'ignore' });
  } catch {
    return 'no postfix user';
  }
  return '';
}

/**
 * The Postfix rows need root, but setupTree() turns this process into
 * nobody for good; so, before the first row, fork a copy of this script
 * (`--postfix-helper N`) that stays root and runs runPostfix(s) for each
 * `{ s }` it is sent, answering `{ r: [accepted, e2e, cpu] }` or `{ err }`.
 * On disconnect (the run is over and its trees are in the trash) it exits;
 * on SIGINT or SIGTERM it stops any instance still running, removes its own
 * trees and exits.
 */
function postfixHelper(): { row: (s: number) => Promise<[number, number, number]>; close: () => Promise<void> } {
  const c = fork(new URL(import.meta.url).pathname, ['--postfix-helper', String(N)], { stdio: 'inherit' });
  return {
    row: (s) =>
      new Promise((res, rej) => {
        c.once('message', (m: { r?: [number, number, number]; err?: string }) => (m.r ? res(m.r) : rej(new Error(m.err))));
        c.send({ s });
      }),
    close: () =>
      new Promise((res) => {
        c.once('exit', () => res());
        c.disconnect();
      }),
  };
}

/** The helper's side (see postfixHelper()). */
function helperMain(): void {
  const trees: string[] = [];
  process.on('message', (m: { s: number }) => {
    runPostfix(m.s, trees).then(
      (r) => process.send!({ r }),
      (e: unknown) => process.send!({ err: e instanceof Error ? e.message.split('\n')[0] : String(e) }),
    );
  });
  // the end of the run: the main process has moved the scratch directory (these trees with it) to the trash
  process.on('disconnect', () => process.exit(0));
  // ^C reaches the whole process group: stop an instance left running mid-row, remove its trees
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.on(sig, () => {
      void (async () => {
        for (const w of trees) {
          if (postfixPids(`${w}/etc`).length > 0) await postfixStop(`${w}/etc`);
          rmSync(w, { recursive: true, force: true });
        }
        process.exit(0);
      })();
    });
}

/** lo-hi of xs with `digits` decimals (0: rates, 2: ratios), NaNs left out; one value when they are equal. */
function range(xs: number[], digits = 0): string {
  const ok = xs.filter((x) => !Number.isNaN(x));
  if (ok.length === 0) return 'NaN';
  const lo = Math.min(...ok).toFixed(digits);
  const hi = Math.max(...ok).toFixed(digits);
  return lo === hi ? lo : `${lo}-${hi}`;
}

async function main(): Promise<void> {
  if (!existsSync(SOURCE)) {
    console.log(`bench/smtp-e2e: ${SOURCE} not installed (apt-get install postfix, then postfix stop); skipped`);
    return;
  }
  mkdirSync(TRASH, { recursive: true, mode: 0o755 });
  const scratch = scratchDir('smtp-e2e-');
  // this process becomes nobody (setupTree) and moves scratch into the trash at the end
  if (process.getuid?.() === 0) for (const d of [TRASH, scratch]) chownSync(d, 65534, 65534);
  process.env.TMPDIR = scratch;
  const conc = (process.env.BENCH_CONC ?? '1,10,20').split(',').map(Number);
  const missing = postfixMissing();
  const series = (): Map<number, number[]> => new Map<number, number[]>(conc.map((s) => [s, []]));
  const [acc, e2e, pfAcc, pfE2e, busy, pfBusy] = [series(), series(), series(), series(), series(), series()];
  console.log(`SMTP in to Maildir/new, ${N} messages (after ${WARMUP} untimed), one per connection, smtp-source -l 200, ${RUNS} runs`);
  if (missing) console.log(`Postfix not measured (${missing}): compared with ANCHORS.md only`);
  const pf = missing ? null : postfixHelper();
  const failed = (what: string, s: number) => (err: unknown): [number, number, number] => {
    console.log(`${what}-s ${s}: failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    return [NaN, NaN, NaN];
  };
  const inMaildir = (x: number): string => (ACCEPT ? '' : `, in Maildir ${x.toFixed(0)}/s`);
  for (let r = 0; r < RUNS; r++) {
    for (const s of conc) {
      // which system goes first alternates from run to run, so neither always inherits the other's after-effects
      const ratio = (): string => {
        const [i, j] = [acc.get(s)!.length - 1, pfAcc.get(s)!.length - 1];
        if (!pf || i !== r || j !== r) return '';
        return `, ours/Postfix ${(ACCEPT ? acc.get(s)![i] / pfAcc.get(s)![j] : e2e.get(s)![i] / pfE2e.get(s)![j]).toFixed(2)}`;
      };
      /** One system's row: measured, recorded into its three series, printed. */
      const row = async (who: string, measure: () => Promise<[number, number, number]>, into: Array<Map<number, number[]>>): Promise<void> => {
        const x = await measure();
        into.forEach((m, k) => m.get(s)!.push(x[k]));
        console.log(`run ${r + 1} -s ${String(s).padStart(2)}: ${who} accepted ${x[0].toFixed(0)}/s${inMaildir(x[1])}, machine CPU ${x[2].toFixed(2)} s/1000 msgs${ratio()}`);
      };
      const ours = (): Promise<void> => row('ours:   ', () => run(s).catch(failed('', s)), [acc, e2e, busy]);
      const theirs = async (): Promise<void> => {
        if (pf) await row('Postfix:', () => pf.row(s).catch(failed('postfix ', s)), [pfAcc, pfE2e, pfBusy]);
      };
      for (const next of r % 2 === 0 ? [ours, theirs] : [theirs, ours]) await next();
    }
  }
  const med = (xs: number[]): number => median(xs.filter((x) => !Number.isNaN(x))) ?? NaN;
  if (ACCEPT) {
    console.log('acceptance alone (no delivery running), msgs/s:');
    console.log(`conc  ours accepted  ${missing ? '' : 'Postfix accepted  ratio (per run)  ratio of medians  '}C qmail  ratio   Postfix  ratio   (ANCHORS, median ratios)`);
    for (const s of conc) {
      const m = med(acc.get(s)!);
      const same = missing ? '' : `${range(pfAcc.get(s)!).padStart(16)}  ${range(acc.get(s)!.map((a, i) => a / pfAcc.get(s)![i]), 2).padStart(15)}  ${(m / med(pfAcc.get(s)!)).toFixed(2).padStart(16)}  `;
      console.log(`${String(s).padStart(4)}  ${range(acc.get(s)!).padStart(13)}  ${same}${String(C_QMAIL_ACC[s]).padStart(7)}  ${(m / C_QMAIL_ACC[s]).toFixed(2).padStart(5)}   ${String(POSTFIX_ACC[s]).padStart(7)}  ${(m / POSTFIX_ACC[s]).toFixed(2).padStart(5)}`);
    }
    console.log('machine CPU seconds per 1000 messages accepted (median over the runs):');
    for (const s of conc) console.log(`${String(s).padStart(4)}  ours ${med(busy.get(s)!).toFixed(2)}${missing ? '' : `, Postfix ${med(pfBusy.get(s)!).toFixed(2)}`}`);
    toTrash(scratch);
    await pf?.close();
    console.log(`scratch trees kept in ${TRASH} (no bench removes it: rm -r it when done benchmarking)`);
    return;
  }
  if (!missing) {
    console.log('same run, msgs/s:');
    console.log('conc  ours accepted  Postfix accepted  ours end-to-end  Postfix end-to-end  ratio (per run)  ratio of medians');
    for (const s of conc) {
      const ratios = e2e.get(s)!.map((e, i) => e / pfE2e.get(s)![i]);
      console.log(
        `${String(s).padStart(4)}  ${range(acc.get(s)!).padStart(13)}  ${range(pfAcc.get(s)!).padStart(16)}  ${range(e2e.get(s)!).padStart(15)}  ${range(pfE2e.get(s)!).padStart(18)}  ${range(ratios, 2).padStart(15)}  ${(med(e2e.get(s)!) / med(pfE2e.get(s)!)).toFixed(2).padStart(16)}`,
      );
    }
  }
  console.log('ANCHORS.md (other runs), end to end:');
  console.log('conc  accepted/s  end-to-end/s  C qmail  ratio   Postfix  ratio   (median ratios)');
  for (const s of conc) {
    const m = med(e2e.get(s)!);
    console.log(
      `${String(s).padStart(4)}  ${range(acc.get(s)!).padStart(10)}  ${range(e2e.get(s)!).padStart(12)}  ${String(C_QMAIL[s]).padStart(7)}  ${(m / C_QMAIL[s]).toFixed(2).padStart(5)}   ${String(POSTFIX[s]).padStart(7)}  ${(m / POSTFIX[s]).toFixed(2).padStart(5)}`,
    );
  }
  console.log('machine CPU seconds per 1000 messages, from first connection to last delivery (median over the runs):');
  for (const s of conc) console.log(`${String(s).padStart(4)}  ours ${med(busy.get(s)!).toFixed(2)}${missing ? '' : `, Postfix ${med(pfBusy.get(s)!).toFixed(2)}`}`);
  console.log('CPU seconds per 1000 messages, user+system (mean over the runs):');
  for (const s of conc) {
    const per = (v: number): string => ((v * 1000) / (N * RUNS)).toFixed(2);
    const parts = [...cpuTotals].filter(([k]) => k.startsWith(`${s} `)).map(([k, [u, y]]) => `${k.slice(k.indexOf(' ') + 1)} ${per(u)}+${per(y)}`);
    console.log(`${String(s).padStart(4)}  ${parts.join(', ')}`);
  }
  toTrash(scratch);
  await pf?.close();
  console.log(`scratch trees kept in ${TRASH} (no bench removes it: rm -r it when done benchmarking)`);
}

if (HELPER) helperMain();
else void main();
