/**
 * Helpers for the qmail-send tests: a qmail home (queue with split 3,
 * control/, users/assign) and homes owned by the delivering user (nobody
 * when the tests run as root, ourselves otherwise), qmail-start run as that
 * user with its log collected line by line, and injection through the real
 * queue (submitMessage) as that user.
 */
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { isRoot, ours, tmpdir, until } from './helpers.ts';
import { queueCreate } from '../src/lib/queue/create.ts';
import { submitMessage } from '../src/lib/queue/client.ts';

export const RUN_UID = isRoot ? 65534 : process.getuid!();
export const RUN_GID = isRoot ? 65534 : process.getgid!();

function chownR(p: string): void {
  if (!isRoot) return;
  chownSync(p, RUN_UID, RUN_GID);
  if (statSync(p).isDirectory()) for (const e of readdirSync(p)) chownR(`${p}/${e}`);
}

/** Run fn with the delivering user's effective ids (root tests), so queue files get the queue owner. */
export async function asRunUser<T>(fn: () => Promise<T>): Promise<T> {
  if (!isRoot) return fn();
  process.setegid!(RUN_GID);
  process.seteuid!(RUN_UID);
  try {
    return await fn();
  } finally {
    process.seteuid!(0);
    process.setegid!(0);
  }
}

/** A qmail home for qmail-send with homes joe (extensions) and alias (catch-all). */
export class Mta {
  readonly dir: string;
  readonly qh: string;
  readonly joe: string;
  readonly alias: string;
  readonly stubs: string;
  proc: ResultPromise | undefined;
  log: string[] = [];
  private partial = '';

  constructor(assignExtra = '') {
    this.dir = tmpdir('qms-');
    chmodSync(this.dir, 0o755);
    this.qh = `${this.dir}/qh`;
    mkdirSync(this.qh);
    queueCreate(this.qh, 3, { ids: { users: {} as never, groups: {} as never } });
    mkdirSync(`${this.qh}/users`);
    mkdirSync(`${this.qh}/control`);
    this.stubs = `${this.dir}/stubs`;
    mkdirSync(this.stubs);
    this.joe = this.home('joe', { '.qmail-soft': '|echo busy; exit 111\n', '.qmail-hard': '|echo no such list; exit 100\n' });
    this.alias = this.home('alias', { '.qmail-default': './Maildir/\n' });
    writeFileSync(`${this.qh}/control/me`, 'here.example\n');
    writeFileSync(
      `${this.qh}/users/assign`,
      `=joe:joe:${RUN_UID}:${RUN_GID}:${this.joe}:::\n+joe-:joe:${RUN_UID}:${RUN_GID}:${this.joe}:-::\n${assignExtra}+:alias:${RUN_UID}:${RUN_GID}:${this.alias}:-::\n.\n`,
    );
    chownR(this.dir);
  }

  home(name: string, files: Record<string, string>): string {
    const h = `${this.dir}/${name}`;
    mkdirSync(h, { mode: 0o755 });
    for (const d of ['Maildir', 'Maildir/tmp', 'Maildir/new', 'Maildir/cur']) mkdirSync(`${h}/${d}`, { mode: 0o700 });
    for (const [f, v] of Object.entries(files)) writeFileSync(`${h}/${f}`, v);
    chownR(h);
    return h;
  }

  control(name: string, text: string): void {
    writeFileSync(`${this.qh}/control/${name}`, text);
    chownR(`${this.qh}/control/${name}`);
  }

  /** qmail-newu, then qmail-start ./Maildir/ as the delivering user; resolves after the first status line. */
  async start(env: Record<string, string> = {}, logger: string[] = [], asRoot = false): Promise<void> {
    await execa(ours('qmail-newu'), [], { env: { QMAILHOME: this.qh } });
    chownR(`${this.qh}/users`);
    this.log = [];
    this.partial = '';
    this.proc = execa(ours('qmail-start'), ['./Maildir/', ...logger], {
      env: { PATH: `${this.stubs}:${process.env.PATH}`, QMAILHOME: this.qh, ...env },
      extendEnv: false,
      uid: isRoot && !asRoot ? RUN_UID : undefined,
      gid: isRoot && !asRoot ? RUN_GID : undefined,
      reject: false,
      buffer: false,
      stdin: 'ignore',
      stderr: 'pipe',
    });
    this.proc.stderr!.on('data', (b: Buffer) => this.log.push(`STDERR ${b.toString('latin1')}`));
    this.proc.stdout!.on('data', (b: Buffer) => {
      const s = this.partial + b.toString('latin1');
      const lines = s.split('\n');
      this.partial = lines.pop()!;
      this.log.push(...lines);
    });
    const p = this.proc;
    await Promise.race([
      this.waitLog(/status: local 0\/\d+ remote 0\/\d+$/),
      p.then((r) => {
        throw new Error(`qmail-start exited ${r.exitCode} ${r.signal ?? ''}: ${this.log.join('\n')}`);
      }),
    ]);
  }

  /** Wait for a log line matching re (after index from); returns its index. */
  async waitLog(re: RegExp, from = 0, ms = 10000): Promise<number> {
    let at = -1;
    await until(() => {
      at = this.log.findIndex((l, i) => i >= from && re.test(l));
      return at >= 0;
    }, ms);
    return at;
  }

  /** TERM qmail-send and wait for its exit; returns the exit code. */
  async stop(sig: NodeJS.Signals = 'SIGTERM'): Promise<number | undefined> {
    const p = this.proc!;
    p.kill(sig);
    const r = await p;
    this.proc = undefined;
    return r.exitCode;
  }

  /** Queue a message as the queue's owner; returns its id. */
  async inject(from: string, to: string[], body = 'Subject: test\n\nhello\n'): Promise<number> {
    const env = Buffer.from(`F${from}\0${to.map((t) => `T${t}\0`).join('')}\0`, 'latin1');
    const r = await asRunUser(() => submitMessage({}, { home: this.qh, uid: RUN_UID }, Buffer.from(body, 'latin1'), env));
    if (r.code !== 0 || r.id === undefined) throw new Error(`inject: ${r.code} ${r.reply}`);
    return r.id;
  }

  /** Names of the files in a queue directory, recursively (`info/1/123`). */
  queueFiles(dir: string): string[] {
    const out: string[] = [];
    const walk = (rel: string): void => {
      const p = `${this.qh}/queue/${rel}`;
      if (statSync(p).isDirectory()) for (const e of readdirSync(p)) walk(`${rel}/${e}`);
      else out.push(rel);
    };
    walk(dir);
    return out.sort();
  }

  /** Messages in home/Maildir/new, in name order. */
  maildir(home: string): string[] {
    const d = `${home}/Maildir/new`;
    return readdirSync(d)
      .sort()
      .map((f) => readFileSync(`${d}/${f}`, 'latin1'));
  }

  /**
   * Nothing left for qmail-send: info, local, remote, todo, bounce empty.
   * (mess/ and intd/ may keep a finished message when a kill cut off
   * qmail-clean's request: INTERNALS' 36-hour cleanup removes those.)
   */
  queueDone(): boolean {
    return ['info', 'local', 'remote', 'todo', 'bounce'].every((d) => this.queueFiles(d).length === 0);
  }

  /** The queue holds no message files (mess, info, local, remote, todo, intd, bounce all empty). */
  queueEmpty(): boolean {
    return ['mess', 'info', 'local', 'remote', 'todo', 'intd', 'bounce'].every((d) => this.queueFiles(d).length === 0);
  }

  /** A stub program in the PATH given to qmail-start (e.g. qmail-remote). */
  stub(name: string, script: string): void {
    writeFileSync(`${this.stubs}/${name}`, script, { mode: 0o755 });
    chownR(`${this.stubs}/${name}`);
  }
}
