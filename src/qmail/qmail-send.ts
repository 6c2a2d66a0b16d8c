/**
 * qmail-send
 *
 * Delivers the messages in the queue (qmail-send(8)): preprocesses todo/
 * into info/, local/, remote/, hands deliveries to qmail-lspawn and
 * qmail-rspawn, retries deferrals on qmail's quadratic schedule, bounces
 * permanent failures, and has qmail-clean remove what is finished
 * (src/lib/send/engine.ts). Normally started by qmail-start, which sets up
 * the descriptors:
 *
 *   0 log (qmail-log(5) lines)   1/2 qmail-lspawn commands/reports
 *   3/4 qmail-rspawn commands/reports   5/6 qmail-clean requests/answers
 *
 * Signals: TERM finishes the deliveries in progress, then exits 0; ALRM
 * retries every queued message now; HUP rereads control/locals and
 * control/virtualdomains.
 *
 * Environment: QMAILHOME (the qmail home), QMAILQUEUE (for bounces).
 * Exit: 0 after TERM; 111 with an `alert: cannot start: ...` log line when
 * the home, controls, queue or lock/sendmutex are unusable, another
 * qmail-send holds the lock, or a spawner sent no greeting.
 */
import { closeSync, constants, openSync, statSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { Ctx } from '../lib/program.ts';
import { LOCK_EX, LOCK_NB, sys } from '../lib/native.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { queueDir, queueSplit } from '../lib/queue/layout.ts';
import { readControls, type SendControls } from '../lib/send/controls.ts';
import { Engine } from '../lib/send/engine.ts';
import { SendLog } from '../lib/send/log.ts';
import { readGreeting } from '../lib/send/pipes.ts';

/**
 * Keep Node from ever making stdio streams of fds 1 and 2, which are
 * qmail-lspawn's pipes here: net.Socket's destroy consults process.stderr,
 * whose first use opens fd 2 a second time in the event loop and fails
 * (EEXIST), so a socket qmail-send closes (the injection service's, when it
 * queues a bounce on a system install) would end in 'error' instead of
 * 'close'. qmail-send has no stdout or stderr of its own: both discard.
 */
function shieldStdio(): void {
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  for (const k of ['stdout', 'stderr'] as const) Object.defineProperty(process, k, { value: sink, configurable: true, writable: true });
}

/** qmail-send: see the module comment; resolves 0 after TERM, 111 when it cannot start. */
export async function main(ctx: Ctx): Promise<number> {
  shieldStdio();
  const log = new SendLog(0);
  const alert = (s: string): number => {
    log.line(`alert: cannot start: ${s}`);
    log.flush();
    return 111;
  };
  const home = qmailHome(ctx.env);
  try {
    if (!statSync(home).isDirectory()) return alert('unable to switch to home directory');
  } catch {
    return alert('unable to switch to home directory');
  }
  let controls: SendControls;
  try {
    controls = readControls(home);
  } catch {
    return alert('unable to read controls');
  }
  const queue = queueDir(home);
  try {
    if (!statSync(queue).isDirectory()) return alert('unable to switch to queue directory');
  } catch {
    return alert('unable to switch to queue directory');
  }
  process.umask(0o077);
  let mutex: number;
  try {
    mutex = openSync(`${queue}/lock/sendmutex`, constants.O_WRONLY);
  } catch {
    return alert('unable to open mutex');
  }
  try {
    sys.flock(mutex, LOCK_EX | LOCK_NB);
  } catch {
    closeSync(mutex);
    return alert('qmail-send is already running');
  }
  const limits: number[] = [];
  for (const fd of [2, 4]) {
    const g = readGreeting(fd);
    if (g === undefined) return alert('hath the daemon spawn no fire?');
    limits.push(g);
  }
  return new Promise<number>((resolve) => {
    const engine = new Engine({
      home,
      split: queueSplit(queue),
      controls,
      env: ctx.env,
      log: (s) => log.line(s),
      spawnLimit: [limits[0], limits[1]],
      fds: [1, 2, 3, 4, 5, 6],
      onExit: () => {
        log.flush();
        process.off('SIGTERM', term);
        process.off('SIGALRM', alrm);
        process.off('SIGHUP', hup);
        closeSync(mutex);
        resolve(0);
      },
    });
    const term = (): void => engine.term();
    const alrm = (): void => engine.alarm();
    const hup = (): void => engine.hangup();
    process.on('SIGTERM', term);
    process.on('SIGALRM', alrm);
    process.on('SIGHUP', hup);
    engine.start();
  });
}
