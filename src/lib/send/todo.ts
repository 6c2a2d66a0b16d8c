/**
 * send/todo: qmail-send's preprocessing of one new message, todo/N ->
 * info/S/N + local/S/N and/or remote/S/N (INTERNALS section 4; qmail-send.c's
 * todo_do), with its log lines (`new msg N`, `info msg N: bytes B from <S>
 * qp P uid U`) and warnings:
 *
 *  1. read todo/N (the envelope `u<uid>\0p<pid>\0F<sender>\0T<rcpt>\0...`);
 *     stat mess/S/N for the size;
 *  2. unlink what a crash may have left (local/S/N, remote/S/N, info/S/N),
 *     create info/S/N exclusively and write the F record; each T record is
 *     rewritten (send/rewrite.ts) and appended as `T<addr>\0` to local/S/N
 *     or remote/S/N, each created exclusively on its first recipient;
 *  3. fsync info and the channel files, close them;
 *  4. ask qmail-clean to remove intd/N and todo/N: from then on the message
 *     is qmail-send's. Steps 3 and 4 are one pool job when qmail-send
 *     does qmail-clean's work itself (pipes.ts CleanClient.after).
 *
 * A failure leaves todo/N in place; the next todo scan starts over (step 2
 * makes that safe). info's mtime is the message's birth for the retry
 * schedule and queuelifetime. The fsyncs, which wait for the disk, run
 * together in one pool job, so other messages' events go on meanwhile;
 * reading todo/N (just written, in the page cache), the stat, the unlinks
 * of names that are normally absent, the creates and the writes into the
 * page cache are direct calls: a pool round trip (a thread wake-up each
 * way) costs about as much as any of them.
 */
import { closeSync, constants, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { errCode } from '../errstr.ts';
import { qfn } from '../queue/layout.ts';
import { logsafe } from './logline.ts';
import { rewrite, type RewriteMaps } from './rewrite.ts';
import type { CleanOutcome } from './clean.ts';

/** What preprocessing needs from the engine. */
export interface TodoEnv {
  /** QMAILHOME/queue */
  queue: string;
  split: number;
  maps: RewriteMaps;
  log: (line: string) => void;
  /**
   * fsync fds, then (all of them succeeded) the qmail-clean request `name`:
   * pipes.ts CleanClient.after (one pool job when qmail-send cleans
   * directly); the answer is '' when qmail-clean died or it was not asked
   */
  clean: (fds: number[], name: string) => Promise<CleanOutcome>;
}

/**
 * Preprocess todo/N. Resolves to the channels that got recipients
 * ([local, remote]) once todo/N is gone, or undefined when it failed
 * (warning logged; todo/N stays for a later scan).
 */
export async function preprocess(env: TodoEnv, id: number): Promise<[boolean, boolean] | undefined> {
  const { queue, split, log } = env;
  const todoName = qfn('todo', id, split);
  const infoName = qfn('info', id, split);
  const chanName = [qfn('local', id, split), qfn('remote', id, split)];
  let todo: Buffer;
  try {
    todo = readFileSync(`${queue}/${todoName}`);
  } catch {
    log(`warning: unable to open ${todoName}`);
    return undefined;
  }
  const fds: number[] = [];
  const closeAll = (): void => {
    for (const fd of fds.splice(0)) {
      try {
        closeSync(fd);
      } catch {
        /* nothing to do */
      }
    }
  };
  /** Create name exclusively (mode 0644); its fd, or undefined when that failed. */
  const excl = (name: string): number | undefined => {
    try {
      const fd = openSync(`${queue}/${name}`, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      fds.push(fd);
      return fd;
    } catch {
      return undefined;
    }
  };
  try {
    const messName = qfn('mess', id, split);
    let size: number;
    try {
      size = statSync(`${queue}/${messName}`).size;
    } catch {
      log(`warning: unable to stat ${messName}`);
      return undefined;
    }
    for (const n of [...chanName, infoName]) {
      // these files are qmail-send's alone and normally absent: a stat says so without building an ENOENT exception
      try {
        if (statSync(`${queue}/${n}`, { throwIfNoEntry: false }) !== undefined) unlinkSync(`${queue}/${n}`);
      } catch (e) {
        if (errCode(e) !== 'ENOENT') {
          log(`warning: unable to unlink ${n}`);
          return undefined;
        }
      }
    }
    // the channel files' records first, so that info and the channel files are created together
    const chanBuf: [string[], string[]] = [[], []];
    const lines: string[] = [];
    let info: Buffer | undefined;
    let uid = '0';
    let pid = '0';
    let s = 0;
    for (let z = todo.indexOf(0, s); z >= 0; z = todo.indexOf(0, s)) {
      const rec = todo.subarray(s, z).toString('latin1');
      s = z + 1;
      switch (rec[0]) {
        case 'u':
          uid = String(Number(/^[0-9]*/.exec(rec.slice(1))![0] || '0'));
          break;
        case 'p':
          pid = String(Number(/^[0-9]*/.exec(rec.slice(1))![0] || '0'));
          break;
        case 'F':
          info = Buffer.concat([info ?? Buffer.alloc(0), Buffer.from(rec + '\0', 'latin1')]);
          lines.push(`info msg ${id}: bytes ${size} from <${logsafe(rec.slice(1))}> qp ${pid} uid ${uid}`);
          break;
        case 'T': {
          const r = rewrite(rec.slice(1), env.maps);
          chanBuf[r.channel].push(`T${r.addr}\0`);
          break;
        }
        default:
          lines.push('');
          break;
      }
      if (lines.at(-1) === '') break;
    }
    const names = [infoName, ...[0, 1].filter((c) => chanBuf[c].length > 0).map((c) => chanName[c])];
    const opened = names.map(excl);
    if (opened[0] === undefined) {
      log(`warning: unable to create ${infoName}`);
      return undefined;
    }
    log(`new msg ${id}`);
    for (const l of lines) {
      if (l === '') {
        log(`warning: unknown record type in ${todoName}`);
        return undefined;
      }
      log(l);
    }
    const writeAll = (fd: number, b: Buffer): void => {
      for (let off = 0; off < b.length; ) off += writeSync(fd, b, off, b.length - off);
    };
    const infoFd = opened[0];
    if (info) {
      try {
        writeAll(infoFd, info);
      } catch {
        log(`warning: trouble writing to ${infoName}`);
        return undefined;
      }
    }
    const syncs: number[] = [infoFd];
    const chanFd: [number, number] = [-1, -1];
    for (let i = 1; i < names.length; i++) {
      const c = names[i] === chanName[0] ? 0 : 1;
      const fd = opened[i];
      if (fd === undefined) {
        log(`warning: unable to create ${chanName[c]}`);
        return undefined;
      }
      chanFd[c] = fd;
      try {
        writeAll(fd, Buffer.from(chanBuf[c].join(''), 'latin1'));
      } catch {
        log(`warning: trouble writing to ${chanName[c]}`);
        return undefined;
      }
      syncs.push(fd);
    }
    const { fsync, answer: ch } = await env.clean(syncs, todoName);
    for (let i = 0; i < fsync.length; i++) {
      if (fsync[i]) {
        log(`warning: trouble fsyncing ${names[i]}`);
        return undefined;
      }
    }
    closeAll();
    if (ch !== '+') {
      if (ch !== '') log(`warning: qmail-clean unable to clean up ${todoName}`);
      return undefined;
    }
    return [chanFd[0] >= 0, chanFd[1] >= 0];
  } finally {
    closeAll();
  }
}
