/**
 * embedded: `npm start`, the one-command qmail (issue 7; README "Quick
 * start"). Builds a complete installation under one folder, owned by the
 * invoking user, then runs svscan on it in the foreground:
 *
 *   DIR/qmail        the qmail home (queue, control, alias, users, rc, bin,
 *                    supervise/qmail-send, qmail-smtpd, qmail-pop3d)
 *   DIR/service      svscan's directory, links to DIR/qmail/supervise/*
 *   DIR/log/qmail    multilog directories (qmail-send; smtpd/, pop3d/)
 *   DIR/etc/tcp.smtp SMTP access rules and their cdb
 *   DIR/mail/postmaster   the mailbox's home (Maildir/)
 *
 * The mailbox `postmaster@HOST` is a qmail-users assignment (users/assign,
 * compiled by qmail-newu) with a catch-all to the alias home, whose
 * .qmail-root, .qmail-postmaster, .qmail-mailer-daemon and .qmail-abuse
 * deliver into that Maildir; its POP3 password is generated once, stored
 * with qmail-poppass (scrypt, users/poppasswd) and kept in DIR/pop3-password
 * (0600) so later runs can print it. When run as root the mailbox (and the
 * alias home) belong to `nobody`, because qmail never delivers as uid 0;
 * everything else belongs to the invoking user.
 *
 * Environment: QMAIL_EMBEDDED_DIR (default CHECKOUT/run), QMAIL_HOST (default
 * this host's name), QMAIL_LISTEN (default 127.0.0.1), QMAIL_SMTP_PORT
 * (2525), QMAIL_POP3_PORT (1110). Host and ports are written into the
 * control files and run scripts on the first run; a later run reuses what
 * exists and never overwrites edits.
 *
 * Stopping: SIGINT (Ctrl-C), SIGTERM or SIGHUP: svscan (in its own process
 * group, so the terminal's Ctrl-C reaches only this process) is killed, every
 * service is told `svc -dx` and its log `svc -x` (multilog ends at the end of
 * its input, after the service's last line), and this process exits once no
 * supervise is left (after 60 s the rest get `svc -k`).
 * Exit codes: 0 stopped cleanly; 111 could not set up or start
 * (`embedded: fatal: ...`).
 */
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { binPath, ROOT } from './lib/root.ts';
import { getpwnam } from './lib/passwd.ts';
import { embeddedLayout, layoutEnv, type Layout } from './lib/deploy/layout.ts';
import { buildTree, SERVICES } from './lib/deploy/tree.ts';
import { serviceDirs, supervised } from './lib/deploy/supervised.ts';
import { createDir, createFile } from './lib/deploy/template.ts';
import { findEntry, passfilePath } from './lib/checkpw/passfile.ts';
import { errstr } from './lib/errstr.ts';

const PROG = 'embedded';
const MAILBOX = 'postmaster';

/** Settings from the environment (see the module comment). */
export interface EmbeddedConfig {
  dir: string;
  host: string;
  listen: string;
  smtpPort: string;
  pop3Port: string;
}

/** The settings from a program's environment, with the defaults of the module comment. */
export function configFrom(env: Record<string, string | undefined>): EmbeddedConfig {
  const v = (k: string, d: string): string => (env[k] !== undefined && env[k] !== '' ? env[k] : d);
  return {
    dir: v('QMAIL_EMBEDDED_DIR', `${ROOT}/run`),
    host: v('QMAIL_HOST', hostname()),
    listen: v('QMAIL_LISTEN', '127.0.0.1'),
    smtpPort: v('QMAIL_SMTP_PORT', '2525'),
    pop3Port: v('QMAIL_POP3_PORT', '1110'),
  };
}

/** What prepare() made: where things are and the mailbox's password. */
export interface Prepared {
  layout: Layout;
  maildir: string;
  password: string;
  created: string[];
}

/** Build or complete the installation under cfg.dir (idempotent). */
export async function prepare(cfg: EmbeddedConfig): Promise<Prepared> {
  const root = process.getuid?.() === 0;
  const dir = realpathOrSelf(cfg.dir);
  if (createDir(dir, 0o755)) chmodSync(dir, 0o755);
  const l = embeddedLayout(dir);
  const me = userInfo();
  const box = root ? getpwnam('nobody') : { uid: me.uid, gid: me.gid };
  if (!box) throw new Error('root needs the account nobody to own the mailbox');
  if (root) for (const d of [dir, ROOT]) searchableByOthers(d);
  const ids: [number, number] = [box.uid, box.gid];
  const mhome = `${dir}/mail/${MAILBOX}`;
  const maildir = `${mhome}/Maildir`;
  const created = await buildTree({
    layout: l,
    fqdn: cfg.host,
    admin: `${maildir}/`,
    smtpdAccount: me.username,
    switchUser: root,
    smtp: { host: cfg.listen, port: cfg.smtpPort },
    pop3: { host: cfg.listen, port: cfg.pop3Port },
    owners: { alias: ids },
  });
  const mk = (p: string, mode: number): void => {
    if (createDir(p, mode)) {
      created.push(p);
      if (root) chownSync(p, ids[0], ids[1]);
    }
  };
  createDir(`${dir}/mail`, 0o755);
  mk(mhome, 0o755);
  mk(maildir, 0o700);
  for (const s of ['cur', 'new', 'tmp']) mk(`${maildir}/${s}`, 0o700);
  const assign = `${l.home}/users/assign`;
  if (createFile(assign, `=${MAILBOX}:${MAILBOX}:${ids[0]}:${ids[1]}:${mhome}:::\n+:alias:${ids[0]}:${ids[1]}:${l.home}/alias:-::\n.\n`, 0o644)) created.push(assign);
  const env = { ...process.env, ...layoutEnv(l) };
  const newu = await execa(binPath('qmail-newu'), [], { env, reject: false });
  if (newu.exitCode !== 0) throw new Error(`qmail-newu: ${newu.stderr}`);

  const pwfile = `${dir}/pop3-password`;
  let pass = existsSync(pwfile) ? readFileSync(pwfile, 'utf8').split('\n')[0] : '';
  let known = false;
  try {
    known = findEntry(readFileSync(passfilePath(env), 'latin1'), MAILBOX) !== undefined;
  } catch {
    /* no password file yet */
  }
  if (!known || pass === '') {
    if (pass === '') pass = randomBytes(12).toString('base64url');
    const args = root ? ['-u', String(ids[0]), '-g', String(ids[1]), MAILBOX, mhome] : [MAILBOX, mhome];
    const r = await execa(binPath('qmail-poppass'), args, { env, input: `${pass}\n`, reject: false });
    if (r.exitCode !== 0) throw new Error(`qmail-poppass: ${r.stderr}`);
    if (createFile(pwfile, `${pass}\n`, 0o600)) created.push(pwfile);
  }
  return { layout: l, maildir, password: pass, created };
}

/**
 * Run as root, deliveries and POP3 sessions run as nobody, who must reach
 * the folder and the checkout's programs: every directory down to d must be
 * searchable by others. Throws an Error naming the first that is not.
 */
function searchableByOthers(d: string): void {
  for (let p = d; p !== ''; p = p.slice(0, p.lastIndexOf('/')))
    if ((statSync(p).mode & 0o001) === 0) throw new Error(`${p} is not searchable by others; as root the mailbox belongs to nobody, who must reach ${d} (chmod o+x ${p})`);
}

function realpathOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p.startsWith('/') ? p : `${process.cwd()}/${p}`;
  }
}

/** The banner printed once svscan runs. */
export function banner(cfg: EmbeddedConfig, p: Prepared, pid: number): string {
  const l = p.layout;
  return [
    `qmail is running under ${realpathOrSelf(cfg.dir)} (svscan pid ${pid})`,
    `  SMTP:     ${cfg.listen} port ${cfg.smtpPort}`,
    `  POP3:     ${cfg.listen} port ${cfg.pop3Port}`,
    `  mailbox:  ${MAILBOX}@${cfg.host} (root, abuse and mailer-daemon are aliases of it)`,
    `            ${p.maildir}/`,
    `  POP3 login: user ${MAILBOX}, password ${p.password}`,
    `  logs:     ${l.log}/current, ${l.log}/smtpd/current, ${l.log}/pop3d/current`,
    `            follow one with: ${l.home}/bin/qmailctl logs [send|smtpd|pop3d]`,
    `  control:  ${l.home}/bin/qmailctl stat|stop|start|pause|cont|doqueue|reload|cdb|queue|help`,
    `  stop:     Ctrl-C (or kill -TERM ${process.pid})`,
    '',
  ].join('\n');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function svc(args: string[]): Promise<void> {
  await execa(binPath('svc'), args, { reject: false });
}

/** Stop svscan and every service as the module comment says. */
export async function shutdown(l: Layout, svscanPid: number, say: (s: string) => void): Promise<void> {
  try {
    process.kill(svscanPid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  const mains = SERVICES.map((s) => `${l.service}/${s}`);
  await svc(['-x', ...mains.map((m) => `${m}/log`)]);
  await svc(['-dx', ...mains]);
  const dirs = serviceDirs(l);
  const end = Date.now() + 60000;
  while (dirs.some(supervised) && Date.now() < end) await sleep(100);
  if (dirs.some(supervised)) {
    say('embedded: warning: services still running after 60 seconds; sending KILL');
    await svc(['-dkx', ...dirs.filter(supervised)]);
    const end2 = Date.now() + 10000;
    while (dirs.some(supervised) && Date.now() < end2) await sleep(100);
  }
}

/**
 * npm start: prepare the folder, run svscan on it until a signal (or its
 * death), then shut everything down. Returns the exit code (0 after a
 * signal; 111 when setup fails, the folder is already supervised, svscan
 * cannot start, or svscan died on its own).
 */
export async function run(env: Record<string, string | undefined>): Promise<number> {
  const err = (s: string): void => void process.stderr.write(`${s}\n`);
  const cfg = configFrom(env);
  const busy = serviceDirs(embeddedLayout(realpathOrSelf(cfg.dir))).filter(supervised);
  if (busy.length > 0) {
    err(`${PROG}: fatal: ${busy[0]} is already supervised (another svscan runs on this folder)`);
    return 111;
  }
  let p: Prepared;
  try {
    p = await prepare(cfg);
  } catch (e) {
    err(`${PROG}: fatal: unable to set up ${cfg.dir}: ${e instanceof Error && !('code' in e) ? e.message : errstr(e)}`);
    return 111;
  }
  const l = p.layout;
  const childEnv = { ...env, ...layoutEnv(l), PATH: `${l.home}/bin:${ROOT}/bin:${env.PATH ?? '/bin:/usr/bin'}` };
  const sv = spawn(binPath('svscan'), [l.service], { env: childEnv, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  const started = await new Promise<boolean>((res) => {
    sv.once('spawn', () => res(true));
    sv.once('error', () => res(false));
  });
  if (!started || sv.pid === undefined) {
    err(`${PROG}: fatal: unable to start svscan`);
    return 111;
  }
  const pid = sv.pid;
  let signalled = false;
  const exited = new Promise<void>((res) => sv.once('exit', () => res()));
  const asked = new Promise<void>((res) => {
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
      process.on(s, () => {
        signalled = true;
        res();
      });
  });
  process.stdout.write(banner(cfg, p, pid));
  await Promise.race([exited, asked]);
  if (!signalled) err(`${PROG}: warning: svscan exited; stopping the services`);
  await shutdown(l, pid, err);
  process.stdout.write('qmail stopped\n');
  return signalled ? 0 : 111;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void run(process.env).then((c) => process.exit(c));
}
