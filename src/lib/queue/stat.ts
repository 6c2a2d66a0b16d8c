/**
 * queue/stat: read-only views of a queue for the queue tools.
 *
 * - countQueue: qmail-qstat's two numbers (regular files under mess/* and
 *   under todo/, recursively, hidden names under mess/ excluded as the
 *   shell glob `mess/*` does).
 * - readQueue: qmail-qread's view: per message in info/ (split order, readdir
 *   order inside), its mess size, info mtime, sender, bounce flag and the
 *   local/remote recipients with their done marks.
 */
import { fstatSync, openSync, readSync, closeSync, readdirSync, statSync } from 'node:fs';
import { errCode } from '../errstr.ts';
import { qfn, readdirRaw, readSubdir } from './layout.ts';
import { parseChannelFile, parseInfo } from './records.ts';

/** Regular files below dir (recursively); unreadable directories go to onError. */
function countFiles(dir: string, onError: (path: string, e: unknown) => void): number {
  let n = 0;
  let ents;
  try {
    ents = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    onError(dir, e);
    return 0;
  }
  for (const e of ents) {
    if (e.isFile()) n++;
    else if (e.isDirectory()) n += countFiles(`${dir}/${e.name}`, onError);
  }
  return n;
}

/** qmail-qstat's counts for the queue directory q. */
export function countQueue(q: string, onError: (path: string, e: unknown) => void): { mess: number; todo: number } {
  let mess = 0;
  let names: string[] = [];
  try {
    names = readdirRaw(`${q}/mess`).filter((n) => !n.startsWith('.'));
  } catch (e) {
    onError(`${q}/mess`, e);
  }
  for (const n of names) {
    const p = `${q}/mess/${n}`;
    let isDir = false;
    try {
      const st = statSync(p);
      if (st.isFile()) mess++;
      isDir = st.isDirectory();
    } catch (e) {
      onError(p, e);
    }
    if (isDir) mess += countFiles(p, onError);
  }
  return { mess, todo: countFiles(`${q}/todo`, onError) };
}

/** One recipient line of local/N or remote/N, or the error reading one of them. */
export type QueuedRecipient =
  | {
      channel: 'local' | 'remote';
      done: boolean;
      /** address bytes as latin1 */
      addr: string;
    }
  | { error: unknown };

/** One message as qmail-qread shows it; `error` set when it could not be read. */
export interface QueuedMessage {
  id: number;
  /** info/N's mtime, seconds */
  time: number;
  /** mess/N's size in bytes */
  size: number;
  /** info/N's sender (latin1), without the leading F */
  sender: string;
  bouncing: boolean;
  /** local recipients, then remote ones, in file order; an unreadable file (other than missing) as {error} in its place */
  recipients: QueuedRecipient[];
}

/** The whole file and its mtime (seconds), or the error. */
function slurpFd(path: string): { data?: Buffer; mtime?: number; err?: unknown } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    return { err };
  }
  try {
    const chunks: Buffer[] = [];
    const buf = Buffer.allocUnsafe(65536);
    for (;;) {
      const n = readSync(fd, buf);
      if (n === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    const mtime = Math.floor(fstatSync(fd).mtimeMs / 1000);
    return { data: Buffer.concat(chunks), mtime };
  } catch (err) {
    return { err };
  } finally {
    closeSync(fd);
  }
}

/**
 * Walk info/ like qmail-qread: for each id, `each(msg)`, or `trouble(id, err)`
 * when mess/N or info/N cannot be read. `dieOpendir(path, err)` is called
 * for an info/S that cannot be opened and must throw (qmail-qread exits).
 */
export function readQueue(
  q: string,
  split: number,
  each: (m: QueuedMessage) => void,
  trouble: (id: number, err: unknown) => void,
  dieOpendir: (path: string, err: unknown) => never,
): void {
  for (let s = 0; s < split; s++) {
    let ids: number[];
    try {
      ids = readSubdir(q, 'info', s);
    } catch (e) {
      dieOpendir(`info/${s}`, e);
    }
    for (const id of ids) {
      let size: number;
      try {
        size = statSync(`${q}/${qfn('mess', id, split)}`).size;
      } catch (e) {
        trouble(id, e);
        continue;
      }
      let bouncing = true;
      try {
        statSync(`${q}/${qfn('bounce', id, split)}`);
      } catch {
        bouncing = false;
      }
      const info = slurpFd(`${q}/${qfn('info', id, split)}`);
      if (info.data === undefined) {
        trouble(id, info.err);
        continue;
      }
      const sender = parseInfo(info.data).toString('latin1');
      const m: QueuedMessage = { id, time: info.mtime!, size, sender, bouncing, recipients: [] };
      for (const channel of ['local', 'remote'] as const) {
        const r = slurpFd(`${q}/${qfn(channel, id, split)}`);
        if (r.data === undefined) {
          if (errCode(r.err) !== 'ENOENT') m.recipients.push({ error: r.err });
          continue;
        }
        for (const rec of parseChannelFile(r.data)) m.recipients.push({ channel, done: rec.done, addr: rec.addr.toString('latin1') });
      }
      each(m);
    }
  }
}
