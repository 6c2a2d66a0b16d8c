/**
 * Helpers for the qmail-local / qmail-lspawn tests: a qmail home with a
 * queue and homes owned by the delivering user (nobody when the tests run as
 * root, so no delivery ever runs as uid 0; ourselves otherwise), and runners
 * for bin/qmail-local and bin/qmail-lspawn as that user.
 */
import { chmodSync, chownSync, closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { execa } from 'execa';
import { dirname } from 'node:path';
import { ROOT, fdStdin, isRoot, ours, tmpdir } from './helpers.ts';
import { queueCreate } from '../src/lib/queue/create.ts';
import { encodeCommand, ReportParser, type Report } from '../src/lib/spawn/protocol.ts';

/**
 * When root, deliveries run as nobody, who must be able to run this
 * checkout's launchers: every directory above it searchable by others.
 * Otherwise the tests skip, saying why.
 */
function nobodyBlocked(): string | undefined {
  if (!isRoot) return undefined;
  for (let d = ROOT; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return `nobody cannot search ${d}: deliveries as nobody cannot run bin/`;
    if (d === '/') return undefined;
  }
}
export const NOBODY_BLOCKED = nobodyBlocked();
if (NOBODY_BLOCKED) console.warn(`skipping qmail-local/lspawn delivery tests: ${NOBODY_BLOCKED}`);

export const RUN_UID = isRoot ? 65534 : process.getuid!();
export const RUN_GID = isRoot ? 65534 : process.getgid!();

function chownR(p: string, uid: number, gid: number): void {
  if (!isRoot) return;
  chownSync(p, uid, gid);
  if (statSync(p).isDirectory()) for (const e of readdirSync(p)) chownR(`${p}/${e}`, uid, gid);
}

/** A test tree: dir (0755), qh = qmail home with queue and users/, homes under dir. */
export class Tree {
  readonly dir: string;
  readonly qh: string;
  private n = 0;
  constructor(uid = RUN_UID, gid = RUN_GID) {
    this.dir = tmpdir('qml-');
    chmodSync(this.dir, 0o755);
    this.qh = `${this.dir}/qh`;
    mkdirSync(this.qh);
    queueCreate(this.qh, 1, { ids: { users: {} as never, groups: {} as never } });
    mkdirSync(`${this.qh}/users`);
    mkdirSync(`${this.qh}/control`);
    chownR(this.qh, uid, gid);
  }

  /** A home directory (mode 0755) with a Maildir, owned by uid. */
  home(name: string, files: Record<string, string | [string, number]> = {}, uid = RUN_UID, gid = RUN_GID): string {
    const h = `${this.dir}/${name}`;
    mkdirSync(h, { mode: 0o755 });
    chmodSync(h, 0o755);
    for (const d of ['Maildir', 'Maildir/tmp', 'Maildir/new', 'Maildir/cur']) mkdirSync(`${h}/${d}`, { mode: 0o700 });
    for (const [f, v] of Object.entries(files)) {
      const [text, mode] = typeof v === 'string' ? [v, 0o644] : v;
      writeFileSync(`${h}/${f}`, text, 'latin1');
      chmodSync(`${h}/${f}`, mode);
    }
    chownR(h, uid, gid);
    return h;
  }

  /** Put a message file into queue/mess/0/ and return its messid (`0/N`). */
  message(bytes: Buffer | string): string {
    const id = 1000 + this.n++;
    writeFileSync(`${this.qh}/queue/mess/0/${id}`, bytes);
    if (isRoot) chownSync(`${this.qh}/queue/mess/0/${id}`, RUN_UID, RUN_GID);
    return `0/${id}`;
  }

  /** Write users/assign and run qmail-newu. */
  async assign(lines: string): Promise<void> {
    writeFileSync(`${this.qh}/users/assign`, lines);
    const r = await execa(ours('qmail-newu'), [], { env: { QMAILHOME: this.qh }, reject: false });
    if (r.exitCode !== 0) throw new Error(`qmail-newu: ${r.stderr}`);
    if (isRoot) chownSync(`${this.qh}/users/cdb`, RUN_UID, RUN_GID);
  }

  /** Files in home/Maildir/new, contents in name order. */
  maildir(home: string, sub = 'Maildir'): Buffer[] {
    const d = `${home}/${sub}/new`;
    return readdirSync(d).sort().map((f) => readFileSync(`${d}/${f}`));
  }
}

/** Run bin/qmail-local as the delivering user with `message` on fd 0. */
export async function runLocal(t: Tree, args: string[], message: Buffer | string, env: Record<string, string> = {}) {
  const f = `${t.dir}/in.${Math.random().toString(36).slice(2)}`;
  writeFileSync(f, message);
  const fd = openSync(f, 'r');
  const r = await execa(ours('qmail-local'), args, {
    stdin: fdStdin(fd),
    env: { PATH: process.env.PATH!, QMAILHOME: t.qh, ...env },
    extendEnv: false,
    uid: isRoot ? RUN_UID : undefined,
    gid: isRoot ? RUN_GID : undefined,
    reject: false,
    encoding: 'latin1',
    stripFinalNewline: false,
  }).finally(() => closeSync(fd));
  return { code: r.exitCode, stdout: r.stdout as string, stderr: r.stderr as string };
}

/** Run bin/qmail-lspawn (as `uid`, default the delivering user) with commands; returns greeting and reports. */
export async function runLspawn(t: Tree, aliasempty: string, cmds: Array<{ delnum: number; messid: string; sender: string; recipient: string }>, opts: { uid?: number; gid?: number; env?: Record<string, string> } = {}) {
  const input = Buffer.concat(cmds.map(encodeCommand));
  const uid = opts.uid ?? (isRoot ? RUN_UID : undefined);
  const r = await execa(ours('qmail-lspawn'), [aliasempty], {
    input,
    env: { PATH: process.env.PATH!, QMAILHOME: t.qh, ...(opts.env ?? {}) },
    extendEnv: false,
    uid,
    gid: opts.gid ?? (uid !== undefined ? RUN_GID : undefined),
    reject: false,
    encoding: 'buffer',
    stripFinalNewline: false,
  });
  const out = r.stdout as unknown as Buffer;
  const reports: Report[] = new ReportParser().push(out.subarray(1));
  const byDelnum = new Map<number, Report>();
  for (const x of reports) byDelnum.set(x.delnum, x);
  return { code: r.exitCode, greeting: out[0], reports, byDelnum, stderr: Buffer.from(r.stderr as unknown as Buffer).toString() };
}
