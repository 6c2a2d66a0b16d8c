/**
 * queue/inject: put one message into the queue, with qmail-queue's protocol
 * verdicts and INTERNALS' write discipline. This is the core of the
 * qmail-queue program (src/qmail/qmail-queue.ts, which feeds it descriptors
 * 0 and 1) and the in-process path for servers (qmail-smtpd, qmail-inject
 * run inside a long-lived process), which feed it buffers. Both write the
 * same files, so qmail-send cannot tell them apart.
 *
 * Steps (INTERNALS section 3; each failure's exit code from qmail-queue(8)):
 *  1. QMAILHOME searchable, else 61; QMAILHOME/queue searchable, else 62.
 *  2. Create pid/PID.TIME.SEQ exclusively (mode 0644; up to 9 names, else 63),
 *     fstat it: its inode N names the message.
 *  3. Hard-link it as mess/(N mod split)/N (64), unlink the pid name (63).
 *  4. Write `Received: (qmail PID invoked by uid UID); DATE\n` + the message
 *     (`by alias` / `from network` / `for bounce` when UID is the alias,
 *     qmaild or qmails user); read error 54, write error 53; fsync (53).
 *  5. Create intd/N exclusively (65) and write `u<uid>\0p<pid>\0` + the
 *     validated envelope without its final \0 (envelope.ts: 91, 11, 54);
 *     fsync (53).
 *  6. Hard-link intd/N as todo/N (66): at that instant the message is queued.
 *  7. Pull the trigger: write one \0 byte into lock/trigger, opened
 *     O_WRONLY|O_NONBLOCK (the descriptor is kept for the next message);
 *     every error ignored (no qmail-send listening is fine). Then fsync
 *     todo/ itself (53), so that the new name is on disk before the caller
 *     is told the message is queued (see "Crash safety").
 *
 * Run as root (root's qmail-inject or sendmail, a root qmail-smtpd): mess/N
 * and intd/N are given to the queue's owner (fchown to the owner of queue/,
 * group kept) right after each is created, so they belong to qmailq as the
 * setuid qmail-queue's files do and qmail-lspawn accepts the message.
 *
 * Crash safety: todo/N exists only after mess/N and intd/N were complete and
 * fsynced, so a crash at any point leaves either no queued message or a
 * complete one; what a crash leaves behind is in pid/, mess/ and intd/ only
 * (qmail-send's 36-hour cleanup). The original stops at the link and relies
 * on the filesystem to make it durable, as BSD's FFS did with synchronous
 * directory updates (Linux admins were told `chattr +S` the queue). On
 * Linux a link is a change to todo/'s directory block in memory: fsync of
 * intd/N, made before it, does not cover it, and on ext2 or ext4 without a
 * journal (this project's machines) the block is written back up to half a
 * minute later, so a crash in that time would lose a message whose 250 was
 * already sent. So step 7 ends with an fsync of todo/, which writes the
 * directory's block and inode and flushes the device; concurrent sessions
 * share one per event-loop turn (fsyncfd.ts fsyncDir: a group commit of
 * their links). Should it fail (EIO), the message stays queued (qmail-send
 * may already have taken it) and the verdict is 53, so the worst case is a
 * duplicate after the client's retry, never a lost message. On every
 * failure this code also removes what it made (truncating first, as
 * qmail-queue's cleanup()), including the 91/11/65/66 cases the C original
 * leaves for that cleanup.
 *
 * Creates, links, unlinks and writes are synchronous (tens of microseconds
 * at most; a thread pool round trip, a thread wake-up each way, costs about
 * as much CPU as a create); the two fsyncs, which wait for the device, run
 * together in one job on the addon's thread pool (fsyncfd.ts fsyncGrouped,
 * with the other sessions' fsyncs of the same event-loop turn: every
 * file's data writeback started at once, then each fsync), so a server's
 * other sessions go on meanwhile. mess/N's fsync is thus issued once
 * intd/N is written (the original waits for it before it creates intd/N);
 * todo/N is still linked only once both fsyncs succeeded. When step 5 fails, mess/N is still
 * fsynced and its error (53), when it has one, is the one reported, as in
 * the original.
 *
 * Step 5 early: when the envelope is given in memory and the message is a
 * stream (qmail-smtpd: the envelope is complete at DATA, the message still
 * to come), intd/N is made right after mess/N and its fsync starts at once,
 * running while the client sends the message; at the end only mess/N's
 * fsync is left to wait for (about half of the time before the 250 at
 * concurrency 1). That costs a second pool job (a thread wake-up, tens of
 * microseconds of CPU on a VM), so it is done only while this message is
 * the only one being queued in the process; with several, latency matters
 * less than CPU, and each message's two fsyncs are grouped with the other
 * sessions' of the same event-loop turn (fsyncfd.ts fsyncGrouped, a group
 * commit). With intd/N's fsync started early, the rest is one pool job
 * too: mess/N's fsync, then (on the worker, through a fence) the wait for
 * intd/N's, the link and todo/'s fsync (fsyncfd.ts syncThenLink), so the
 * 250 is one trip through the event loop after the message's end instead
 * of two (the job pulls the trigger right after the link, opening
 * lock/trigger each time). Should the early intd/N fail, it is removed and made
 * again at step 5, so every verdict and its precedence stay the original's.
 * A crash meanwhile leaves mess/N and intd/N without todo/N: the same
 * leftovers the original's crash between steps 5 and 6 leaves, removed by
 * qmail-send's 36-hour cleanup.
 *
 * Descriptors: mess/N's and intd/N's are closed as soon as their fsyncs
 * have succeeded, before the link (the original keeps them to its exit).
 * From the link on, qmail-send may preprocess the message and have intd/N
 * and todo/N removed, and later mess/N; a close after that would be the
 * file's last reference and free it right there, on the server's event
 * loop, which on a `discard` mount waits for the device's discard (seen
 * in profiles at concurrency 10, where sessions wait for todo/'s shared
 * fsync after the trigger). In the one-job path the job ends right after
 * the trigger with todo/'s fsync, well before qmail-send can have
 * preprocessed the message (two fsyncs of its own), and the descriptors
 * are closed as soon as it answers.
 */
import { accessSync, closeSync, constants, fchmodSync, fchownSync, fstatSync, ftruncateSync, linkSync, openSync, statSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import { writeAll } from '../strerr.ts';
import { fsyncDir, fsyncFds, fsyncGrouped, fsyncSignal, syncThenLink } from '../fsyncfd.ts';
import { date822fmt } from '../qmaildate.ts';
import { qmailIds, type QmailIds } from '../qmailids.ts';
import { queueDir, queueSplit } from './layout.ts';
import { EnvelopeScanner } from './envelope.ts';
import { drainSource, type ByteSource } from './source.ts';
import { QQ } from './qqcodes.ts';

/** Who is injecting, for the Received line (overrides the uid mapping). */
export type Invoker = 'alias' | 'network' | 'bounce';

/** Options of queueInject. */
export interface InjectOptions {
  /** the qmail home (qmailHome(ctx.env)) */
  home: string;
  /** uid recorded in the Received line and intd's `u` field (default: getuid()) */
  uid?: number;
  /** pid recorded in the Received line, intd's `p` field and the pid/ name (default: process.pid) */
  pid?: number;
  /** qmail's user ids for the `by alias` / `from network` / `for bounce` forms (default: /etc/passwd) */
  ids?: QmailIds;
  /** force one of those forms regardless of uid (e.g. an in-process qmail-smtpd in the embedded setup) */
  invoker?: Invoker;
  /** the time of injection in seconds since the epoch (default: now); names pid/ and dates Received */
  now?: number;
  /** conf-split (default: counted from mess/, see layout.queueSplit) */
  split?: number;
}

/** Outcome: qmail-queue's exit code, and the message number when queued. */
export interface InjectResult {
  code: number;
  id?: number;
}

let defaultIds: QmailIds | undefined;
let seqCounter = 0;

/** Thrown internally to leave with an exit code. */
class Fail {
  readonly code: number;
  constructor(code: number) {
    this.code = code;
  }
}


/**
 * The Received line qmail-queue prepends (with its `\n`):
 * `Received: (qmail PID invoked by uid UID); D Mon YYYY HH:MM:SS -0000`.
 */
export function receivedLine(pid: number, uid: number, t: number, ids: QmailIds, invoker?: Invoker): string {
  let how: string;
  if (invoker === 'alias' || (invoker === undefined && uid === ids.users.alias)) how = 'by alias';
  else if (invoker === 'network' || (invoker === undefined && uid === ids.users.qmaild)) how = 'from network';
  else if (invoker === 'bounce' || (invoker === undefined && uid === ids.users.qmails)) how = 'for bounce';
  else how = `by uid ${uid}`;
  return `Received: (qmail ${pid} invoked ${how}); ${date822fmt(t)}\n`;
}

/**
 * The uid new queue files must be given: the owner of queue/ when this
 * process runs as root and the queue is someone else's (qmailq), else
 * undefined (the files are already the creator's).
 */
function queueOwner(q: string): number | undefined {
  if (process.geteuid?.() !== 0) return undefined;
  try {
    const uid = statSync(q).uid;
    return uid !== 0 ? uid : undefined;
  } catch {
    return undefined;
  }
}

/** Open path O_WRONLY|O_CREAT|O_EXCL mode 0644 (open_excl); returns the fd, throws the node:fs error. */
function openExcl(path: string): number {
  return openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
}

/** Per queue directory, a descriptor open for writing on lock/trigger (see triggerPull). */
const triggerFds = new Map<string, number>();

/**
 * Pull qmail-send's trigger (triggerpull.c): one byte into lock/trigger,
 * non-blocking, errors ignored. The descriptor (O_WRONLY|O_NONBLOCK, so the
 * open fails with ENXIO while no qmail-send has it open) is kept for the
 * process's next messages: a long-lived server saves the open and close per
 * message. A write error (EPIPE once qmail-send is gone) closes it, and the
 * next pull opens lock/trigger again, which also finds a FIFO that was
 * replaced; EAGAIN (the FIFO is full, qmail-send has pulls pending anyway)
 * keeps it. Anything but a FIFO there (a regular file, LWQ G.9) is opened,
 * written and closed each time, as the original does.
 */
export function triggerPull(queue: string): void {
  let fd = triggerFds.get(queue);
  let keep = true;
  if (fd === undefined) {
    try {
      fd = openSync(`${queue}/lock/trigger`, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch {
      return;
    }
    try {
      // only a FIFO is kept: a regular file there (LWQ G.9) would grow by a byte per message
      keep = fstatSync(fd).isFIFO();
    } catch {
      keep = false;
    }
    if (keep) triggerFds.set(queue, fd);
  }
  try {
    writeSync(fd, ONE_BYTE);
    if (keep) return;
  } catch (e) {
    if (keep && (e as NodeJS.ErrnoException).code === 'EAGAIN') return;
  }
  triggerFds.delete(queue);
  closeQuietly(fd);
}
const ONE_BYTE = Buffer.alloc(1);

/** Truncate a file this call made, through its descriptor while open, else by name (cleanup after the descriptors were closed). Throws. */
function truncateMade(fd: number, path: string): void {
  if (fd >= 0) ftruncateSync(fd, 0);
  else truncateSync(path, 0);
}

/** close(2), errors ignored (nothing left to do about them). */
function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* ignore */
  }
}

/** queueInject() calls in progress in this process (step 5 early only when alone). */
let injecting = 0;

/**
 * Queue one message. `message` is the message without the Received line;
 * `envelope` the fd-1 bytes (`F..\0T..\0...\0`, see envelopeBytes()). Either
 * may be bytes in memory or a ByteSource (read to its end / to the final \0).
 * Never throws for I/O problems: they become the exit code in the result.
 */
export async function queueInject(opts: InjectOptions, message: Uint8Array | ByteSource, envelope: Uint8Array | ByteSource): Promise<InjectResult> {
  const home = opts.home;
  const q = queueDir(home);
  const pid = opts.pid ?? process.pid;
  const uid = opts.uid ?? process.getuid?.() ?? 0;
  const t = Math.floor(opts.now ?? Date.now() / 1000);
  try {
    accessSync(home, constants.X_OK);
  } catch {
    return { code: QQ.HOME };
  }
  try {
    accessSync(q, constants.X_OK);
  } catch {
    return { code: QQ.QUEUE };
  }
  const owner = queueOwner(q);
  const ids = opts.ids ?? (defaultIds ??= qmailIds());
  const received = receivedLine(pid, uid, t, ids, opts.invoker);
  const split = opts.split ?? queueSplit(q);

  let messFd = -1;
  let intdFd = -1;
  let messfn = '';
  let intdfn = '';
  let madeMess = false;
  let madeIntd = false;
  /** intd/N's fsync when it was started early (step 5 early), until awaited; its fence lets the last pool job wait for it. */
  let early: ReturnType<typeof fsyncSignal> | undefined;
  /** Truncate and unlink intd/N if this call made it (qmail-queue's cleanup); false if that failed. */
  const unmakeIntd = (): boolean => {
    if (!madeIntd) return true;
    try {
      truncateMade(intdFd, intdfn);
      unlinkSync(intdfn);
    } catch {
      return false;
    }
    madeIntd = false;
    return true;
  };
  /** Undo a failed early intd/N: unmake it, close its descriptor (left to the 36-hour cleanup if that fails). */
  const dropIntd = (): void => {
    unmakeIntd();
    madeIntd = false;
    if (intdFd >= 0) closeQuietly(intdFd);
    intdFd = -1;
  };
  const cleanup = (): void => {
    if (!unmakeIntd()) return;
    if (madeMess) {
      try {
        truncateMade(messFd, messfn);
        unlinkSync(messfn);
      } catch {
        /* qmail-send's cleanup will find it */
      }
    }
  };
  injecting++;
  try {
    // 2. pid/PID.TIME.SEQ -> inode number
    let pidfn = '';
    for (let tries = 0; tries < 9 && messFd < 0; tries++) {
      pidfn = `${q}/pid/${pid}.${t}.${++seqCounter}`;
      try {
        messFd = openExcl(pidfn);
      } catch {
        /* try the next name */
      }
    }
    if (messFd < 0) throw new Fail(QQ.PID);
    let id: number;
    try {
      const st = fstatSync(messFd);
      id = st.ino;
      if (!Number.isSafeInteger(id)) throw new Error('inode number too large');
      if ((st.mode & 0o777) !== 0o644) fchmodSync(messFd, 0o644);
      if (owner !== undefined) fchownSync(messFd, owner, -1);
    } catch {
      throw new Fail(QQ.PID);
    }
    // 3. pid -> mess/S/N
    messfn = `${q}/mess/${id % split}/${id}`;
    intdfn = `${q}/intd/${id}`;
    const todofn = `${q}/todo/${id}`;
    try {
      linkSync(pidfn, messfn);
    } catch {
      throw new Fail(QQ.MESS);
    }
    try {
      unlinkSync(pidfn);
    } catch {
      madeMess = true;
      throw new Fail(QQ.PID);
    }
    madeMess = true;

    // 5 early: an envelope known before a streamed message (qmail-smtpd's DATA) makes
    // intd/N now, its fsync running while the message comes in (see the module comment)
    if (envelope instanceof Uint8Array && !(message instanceof Uint8Array) && injecting === 1) {
      try {
        await writeIntd();
        early = fsyncSignal(intdFd);
      } catch {
        dropIntd(); // made again below, in the original's order, to give the original's verdict
      }
    }

    // 4. Received line + message, fsync
    if (message instanceof Uint8Array) {
      try {
        writeAll(messFd, Buffer.concat([Buffer.from(received, 'latin1'), message]));
      } catch {
        throw new Fail(QQ.WRITE);
      }
    } else {
      try {
        writeAll(messFd, received);
      } catch {
        throw new Fail(QQ.WRITE);
      }
      const r = await drainSource(message, (b) => {
        try {
          writeAll(messFd, b);
        } catch {
          throw new Fail(QQ.WRITE);
        }
      });
      if (r) throw new Fail(QQ.READ);
    }
    // 5. intd/N, then both fsyncs (see the module comment)
    if (early?.fence) {
      // 5-7 as one pool job: mess/N's fsync, intd/N's awaited there, the link, todo/'s fsync
      const r = await syncThenLink([messFd], { wait: early.fence, from: intdfn, to: todofn, dir: `${q}/todo`, trigger: `${q}/lock/trigger` });
      await early.done;
      early = undefined;
      if (r.fsync[0] || r.waited) throw new Fail(QQ.WRITE);
      if (r.link) throw new Fail(QQ.TODO);
      madeMess = madeIntd = false;
      return r.dir ? { code: QQ.WRITE } : { code: QQ.OK, id };
    }
    if (early) {
      const [messErr, intdErr] = await Promise.all([fsyncGrouped(messFd), early.done]);
      early = undefined;
      if (messErr || intdErr) throw new Fail(QQ.WRITE);
    } else {
      try {
        await writeIntd();
      } catch (e) {
        // the original fsyncs mess/N before it makes intd/N: that failure wins
        const [m] = await fsyncFds([messFd]);
        throw m ? new Fail(QQ.WRITE) : e;
      }
      const [messErr, intdErr] = await Promise.all([fsyncGrouped(messFd), fsyncGrouped(intdFd)]);
      if (messErr || intdErr) throw new Fail(QQ.WRITE);
    }
    // both files are on disk: close them now, while nothing else can have unlinked them (see "Descriptors")
    closeQuietly(messFd);
    closeQuietly(intdFd);
    messFd = intdFd = -1;

    // 6. todo/N: queued
    try {
      linkSync(intdfn, todofn);
    } catch {
      throw new Fail(QQ.TODO);
    }
    madeMess = madeIntd = false;
    // 7. wake qmail-send (the message is queued from the link on) ...
    triggerPull(q);
    // ... and have the link on disk before the verdict (see "Crash safety"); the message stays queued either way
    if ((await fsyncDir(`${q}/todo`)) !== null) return { code: QQ.WRITE };
    return { code: QQ.OK, id };
  } catch (e) {
    // intd/N's early fsync still holds its descriptor: let it finish before closing
    if (early) await early.done;
    cleanup();
    if (e instanceof Fail) return { code: e.code };
    return { code: QQ.BUG };
  } finally {
    injecting--;
    for (const fd of [messFd, intdFd]) if (fd >= 0) closeQuietly(fd);
  }

  /** 5. intd/N: u, p, then the envelope as read (fsynced by the caller). Throws Fail. */
  async function writeIntd(): Promise<void> {
    try {
      intdFd = openExcl(intdfn);
    } catch {
      throw new Fail(QQ.INTD);
    }
    madeIntd = true;
    try {
      const st = fstatSync(intdFd);
      if ((st.mode & 0o777) !== 0o644) fchmodSync(intdFd, 0o644);
      if (owner !== undefined) fchownSync(intdFd, owner, -1);
    } catch {
      throw new Fail(QQ.WRITE);
    }
    // u and p go out with the envelope's first bytes: one write for an envelope in memory
    let head: Buffer | undefined = Buffer.from(`u${uid}\0p${pid}\0`, 'latin1');
    const put = (b: Uint8Array): void => {
      const out = head === undefined ? b : Buffer.concat([head, b]);
      head = undefined;
      try {
        writeAll(intdFd, out);
      } catch {
        throw new Fail(QQ.WRITE);
      }
    };
    const scan = new EnvelopeScanner();
    const take = (chunk: Uint8Array): void => {
      const r = scan.feed(chunk);
      if (r.out.length > 0) put(r.out);
      if (r.code !== 0) throw new Fail(r.code);
    };
    if (envelope instanceof Uint8Array) {
      take(envelope);
    } else {
      const buf = Buffer.allocUnsafe(4096);
      while (!scan.done) {
        let n: number;
        try {
          n = await envelope.read(buf);
        } catch {
          throw new Fail(QQ.READ);
        }
        if (n === 0) break;
        take(buf.subarray(0, n));
      }
    }
    if (!scan.done) throw new Fail(QQ.READ);
    if (head !== undefined) put(Buffer.alloc(0));
  }
}
