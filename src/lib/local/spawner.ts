/**
 * local/spawner: qmail-lspawn's work for one delivery command (qmail-lspawn(8),
 * spawn.c's docmd and qmail-lspawn.c's spawn/nughde_get/report), with the
 * delivery itself run one of two ways:
 *
 * - in-process: when this process is not root, qmail-local's library
 *   (deliver.ts) runs inside qmail-lspawn, concurrently with the other
 *   deliveries (async I/O). This is the embedded setup, where one user owns
 *   the queue and every mailbox: an address whose account has another uid
 *   fails as the C qmail-lspawn fails its setgid there ("Internal
 *   qmail-lspawn bug", a deferral).
 * - per-uid workers (workers.ts): when root, each delivery goes to a
 *   long-lived worker process that switched to the recipient's uid and gid
 *   (setgroups, setgid, setuid, as prot.c) before reading any request;
 *   nothing runs as root on user data and no delivery runs as uid 0.
 *
 * Steps, each failure a report with qmail's text: the command checks of
 * spawn.c (protocol.checkCommand); open queue/mess/MESSID, a regular file
 * owned by the queue's owner ("Zqmail-spawn unable to open message.
 * (#4.3.0)", "ZSorry, message has wrong type. (#4.3.5)", "ZSorry, message
 * has wrong owner. (#4.3.5)"); the recipient's local part (before the last
 * `@`) empty -> nothing to do, `K` with an empty text; account lookup
 * (users.ts: users/cdb, then qmail-getpw's rules) with QLX failures; uid 0
 * -> "ZNot allowed to perform deliveries as root."; then qmail-local with
 * `user homedir local dash ext domain sender defaultdelivery` and
 * localReport() of its exit code and output.
 */
import { fstatSync, openSync, closeSync, constants, statSync } from 'node:fs';
import { checkCommand, encodeReport, localReport, QLX, type Command } from '../spawn/protocol.ts';
import { localDeliver, type LocalArgs } from './deliver.ts';
import { Message } from './message.ts';
import { QlxError } from './getpw.ts';
import { UserDb } from './users.ts';

/** A delivery runner for one account: in-process or a worker (workers.ts). */
export interface Runner {
  run(args: LocalArgs, message: Message): Promise<{ code: number; crashed?: boolean; output: string }>;
}

/** Settings of a LocalSpawner. */
export interface SpawnerOptions {
  /** the qmail home */
  home: string;
  /** qmail-lspawn's argument: the default delivery */
  aliasempty: string;
  /** environment passed to qmail-local (and so to programs) */
  env: Record<string, string | undefined>;
  /** conf-patrn (default 0o002) */
  patrn?: number;
  /** concurrency limit (the greeting byte), default 120 */
  concurrency?: number;
  /** root: the runner for uid/gid (workers.ts); omitted: in-process */
  runnerFor?: (uid: number, gid: number) => Runner;
  /** the uid deliveries may run as in-process (default: process.getuid()) */
  uid?: number;
}

/** qmail-lspawn's delivery logic (see module comment). */
export class LocalSpawner {
  readonly opts: SpawnerOptions;
  readonly users: UserDb;
  private readonly busy = new Set<number>();
  private readonly messDir: string;
  private queueOwner: number | undefined;

  constructor(opts: SpawnerOptions) {
    this.opts = opts;
    this.users = new UserDb(opts.home);
    this.messDir = `${opts.home}/queue/mess`;
  }

  /** Concurrency limit announced in the greeting. */
  get concurrency(): number {
    return this.opts.concurrency ?? 120;
  }

  private owner(): number {
    if (this.queueOwner === undefined) this.queueOwner = statSync(this.messDir).uid;
    return this.queueOwner;
  }

  /** Run one command to its report frame (never rejects). */
  async handle(cmd: Command): Promise<Buffer> {
    const bad = checkCommand(cmd, this.concurrency, (n) => this.busy.has(n));
    if (bad) return encodeReport(cmd.delnum, bad[0], bad.slice(1));
    this.busy.add(cmd.delnum);
    try {
      const r = await this.deliver(cmd);
      return encodeReport(cmd.delnum, r.status, r.text);
    } finally {
      this.busy.delete(cmd.delnum);
    }
  }

  private async deliver(cmd: Command): Promise<{ status: string; text: string }> {
    let message: Message;
    const path = Buffer.from(`${this.messDir}/${cmd.messid}`, 'latin1');
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      return { status: 'Z', text: 'qmail-spawn unable to open message. (#4.3.0)\n' };
    }
    try {
      let st;
      try {
        st = fstatSync(fd);
      } catch {
        return { status: 'Z', text: 'qmail-spawn unable to fstat message. (#4.3.0)\n' };
      }
      if (!st.isFile()) return { status: 'Z', text: 'Sorry, message has wrong type. (#4.3.5)\n' };
      let owner: number;
      try {
        owner = this.owner();
      } catch {
        return localReport({ code: QLX.SYS }, '');
      }
      if (st.uid !== owner) return { status: 'Z', text: 'Sorry, message has wrong owner. (#4.3.5)\n' };
      try {
        message = Message.open(`/proc/self/fd/${fd}`);
      } catch {
        return { status: 'Z', text: 'qmail-spawn unable to open message. (#4.3.0)\n' };
      }
      const at = cmd.recipient.lastIndexOf('@');
      const local = cmd.recipient.slice(0, at);
      if (local === '') return { status: 'K', text: '' }; // <>
      let n;
      try {
        n = this.users.lookup(local);
      } catch (e) {
        return localReport({ code: e instanceof QlxError ? e.code : QLX.SYS }, '');
      }
      if (n.uid === 0) return localReport({ code: QLX.ROOT }, '');
      const args: LocalArgs = {
        user: n.user,
        homedir: n.home,
        local,
        dash: n.dash,
        ext: n.ext,
        host: cmd.recipient.slice(at + 1),
        sender: cmd.sender,
        aliasempty: this.opts.aliasempty,
      };
      if (this.opts.runnerFor) {
        const r = await this.opts.runnerFor(n.uid, n.gid).run(args, message);
        return localReport(r, r.output);
      }
      const me = this.opts.uid ?? process.getuid!();
      if (n.uid !== me) return localReport({ code: QLX.USAGE }, '');
      const r = await localDeliver(args, message, { env: this.opts.env, patrn: this.opts.patrn, qmailhome: this.opts.home });
      return localReport(r, r.output);
    } finally {
      closeSync(fd);
    }
  }
}
