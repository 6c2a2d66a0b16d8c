/**
 * queue/client: how qmail's injecting programs hand a message to the queue
 * (qmail.c's qmail_open/qmail_close, for qmail-inject, qmail-smtpd,
 * qmail-local's forwards and qmail-send's bounces). submitMessage() tries,
 * in order:
 *
 * 1. $QMAILQUEUE when set (qmail-queue(8): "Programs included with qmail
 *    which invoke qmail-queue will invoke the contents of $QMAILQUEUE
 *    instead"), as a program (below).
 * 2. in-process: queueInject() when this process can write pid/, mess/,
 *    intd/ and todo/ (the embedded setup, where one user owns everything, and
 *    a server already running as the queue's owner): the same files, without
 *    a process start.
 * 3. the queue-injection service (qmail-queued, queue/socket.ts) when its
 *    socket QMAILHOME/qmail-queued/socket exists: the system install's way
 *    for everyone but qmailq, in place of the setuid qmail-queue. The service
 *    records this process's uid and pid; `opts.uid`/`pid`/`invoker` are not
 *    the client's to claim there. Service troubles are temporary (73, 74).
 * 4. our bin/qmail-queue as a program (which itself forwards to the service
 *    when one appears meanwhile).
 *
 * runQueueProgram() asked to run our own bin/qmail-queue (qmail-smtpd,
 * qmail-qmtpd and qmail-qmqpd when they cannot write the queue) takes route 3
 * itself when the socket exists, as that program would: the same queued
 * files and Received line, without a process start per message; the `qp`
 * is then this process's pid, which the service records. A program gets the message on its fd 0 (a
 *    pipe), the envelope on its fd 1 (a pipe read end), and fd 6 is offered
 *    for a custom error text (exit 82). An exec failure is code 120.
 *
 * The result carries qmail-queue's exit code and qmail_close()'s reply text
 * ('' = queued, `D...` permanent, `Z...` temporary), ready for an SMTP reply
 * or a qmail-inject diagnostic.
 */
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { ByteSource } from './source.ts';
import { closeSync, write } from 'node:fs';
import { sys } from '../native.ts';
import { binPath } from '../root.ts';
import { qmailHome } from '../qmailhome.ts';
import { dirsWritable, queueDir } from './layout.ts';
import { queueInject, type InjectOptions } from './inject.ts';
import { qqReply } from './qqcodes.ts';
import { queueSocketExists, queueSocketPath, submitViaSocket } from './socket.ts';

/** What a queue submission came to. */
export interface QueueReply {
  /** qmail-queue's exit code (120: could not run it) */
  code: number;
  /** qmail_close()'s text: '' when queued */
  reply: string;
  /** message number, when queued in-process */
  id?: number;
  /** pid of the qmail-queue program run (qmail_qp(): qmail-smtpd's `qp`), when one ran */
  pid?: number;
}

/** canWriteQueue's last answer per qmail home, and when (ms). */
const writableSeen = new Map<string, { ok: boolean; at: number }>();
/** How long (ms) canWriteQueue's answer stands before the directories are checked again. */
const WRITABLE_TTL_MS = 1000;

/**
 * True when this process may write the queue directly (pid, mess, intd, todo
 * writable). The answer is kept for a second: a server asks for every
 * message, and a change of the queue's permissions is then seen within a
 * second (a message caught in between gets qmail-queue's temporary error,
 * or goes through the qmail-queue program).
 */
export function canWriteQueue(home: string): boolean {
  const now = Date.now();
  const seen = writableSeen.get(home);
  if (seen !== undefined && now - seen.at < WRITABLE_TTL_MS) return seen.ok;
  const ok = dirsWritable(queueDir(home), ['pid', 'mess', 'intd', 'todo']);
  writableSeen.set(home, { ok, at: now });
  return ok;
}

/** Resolves when a writable drains or closes. */
function drained(s: Writable): Promise<void> {
  return new Promise((res) => {
    const done = (): void => {
      s.off('drain', done);
      s.off('close', done);
      res();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}

const writeAsync = (fd: number, b: Buffer): Promise<number> => new Promise((res, rej) => write(fd, b, (e, n) => (e ? rej(e) : res(n))));

/**
 * Run a qmail-queue-compatible program: message on fd 0, envelope on fd 1,
 * fd 6 read for an error text. `env` is the child's whole environment.
 * The message may be bytes in memory or a ByteSource pumped into fd 0 as it
 * comes (qmail-smtpd streaming DATA); when the source fails (rejects) the
 * message pipe is closed and the envelope pipe closed without an envelope,
 * so qmail-queue queues nothing (qmail_fail's effect).
 */
export async function runQueueProgram(prog: string, env: Record<string, string | undefined>, message: Uint8Array | ByteSource, envelope: Uint8Array): Promise<QueueReply> {
  if (prog === binPath('qmail-queue')) {
    const home = qmailHome(env);
    if (!canWriteQueue(home)) {
      const r = await viaSocket(home, message, envelope);
      if (r) return r;
    }
  }
  const [r, w] = sys.pipe();
  let child;
  try {
    child = spawn(prog, [], { stdio: ['pipe', r, 'inherit', 'ignore', 'ignore', 'ignore', 'pipe'], env: env as NodeJS.ProcessEnv });
  } catch (e) {
    closeSync(w);
    throw e;
  } finally {
    closeSync(r);
  }
  let wOpen = true;
  const closeW = (): void => {
    if (wOpen) {
      wOpen = false;
      closeSync(w);
    }
  };
  let custom = '';
  const fd6 = (child.stdio as unknown as Array<Readable | null>)[6];
  fd6?.on('data', (d: Buffer) => (custom += d.toString('latin1')));
  fd6?.on('error', () => undefined);
  const stdin = child.stdin!;
  stdin.on('error', () => undefined);
  const exited = new Promise<[number | null, NodeJS.Signals | null, boolean]>((res) => {
    child.on('error', () => res([120, null, true]));
    child.on('close', (code, sig) => res([code, sig, false]));
  });
  const sendEnvelope = async (): Promise<void> => {
    try {
      let b = Buffer.from(envelope);
      while (b.length > 0) b = b.subarray(await writeAsync(w, b));
    } catch {
      /* the child died early: its exit code tells */
    } finally {
      closeW();
    }
  };
  // qmail_open's order: the whole message, then the envelope.
  if (message instanceof Uint8Array) stdin.end(message, () => void sendEnvelope());
  else {
    void (async () => {
      const buf = Buffer.allocUnsafe(65536);
      let ok = true;
      try {
        for (;;) {
          const n = await message.read(buf);
          if (n === 0) break;
          if (!stdin.write(Buffer.from(buf.subarray(0, n)))) await drained(stdin);
        }
      } catch {
        ok = false;
      }
      stdin.end(() => (ok ? void sendEnvelope() : closeW()));
      if (!ok || stdin.destroyed) closeW();
    })();
  }
  const [code, sig, execFailed] = await exited;
  if (execFailed) {
    closeW();
    return { code: 120, reply: qqReply(120) };
  }
  const pid = child.pid;
  if (sig !== null) return { code: 81, reply: qqReply(0, '', true), pid };
  return { code: code ?? 81, reply: qqReply(code ?? 81, custom), pid };
}

/** Route 3: the queue-injection service, when its socket exists (else undefined). */
async function viaSocket(home: string, message: Uint8Array | ByteSource, envelope: Uint8Array): Promise<QueueReply | undefined> {
  if (!queueSocketExists(home)) return undefined;
  const r = await submitViaSocket(queueSocketPath(home), message, envelope);
  return { code: r.code, reply: qqReply(r.code, r.text), pid: process.pid };
}

/**
 * Queue a message the way qmail's programs do (see module comment: the four
 * routes and their order).
 * `opts.home` is the qmail home; `env` the caller's environment (QMAILQUEUE,
 * QMAILHOME are passed on to a program).
 */
export async function submitMessage(env: Record<string, string | undefined>, opts: InjectOptions, message: Uint8Array, envelope: Uint8Array): Promise<QueueReply> {
  const qq = env.QMAILQUEUE;
  if (qq === undefined || qq === '') {
    if (canWriteQueue(opts.home)) {
      const r = await queueInject(opts, message, envelope);
      return { code: r.code, reply: qqReply(r.code), id: r.id };
    }
    const r = await viaSocket(opts.home, message, envelope);
    if (r) return r;
  }
  return runQueueProgram(qq || binPath('qmail-queue'), { ...env, QMAILHOME: opts.home }, message, envelope);
}
