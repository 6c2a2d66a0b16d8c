/**
 * qmail-start [defaultdelivery [logger [arg ...]]]
 *
 * Turns on mail delivery (qmail-start(8)): starts qmail-lspawn
 * (with defaultdelivery, `./Mailbox` when none is given), qmail-rspawn and
 * qmail-clean as children and then becomes qmail-send (a real exec: same
 * pid), connected as qmail-send(8) expects:
 *
 *   qmail-send fd 0   the log: qmail-start's fd 1, or a pipe into the logger
 *   fd 1 -> qmail-lspawn fd 0, qmail-lspawn fd 1 -> fd 2
 *   fd 3 -> qmail-rspawn fd 0, qmail-rspawn fd 1 -> fd 4
 *   fd 5 -> qmail-clean fd 0,  qmail-clean fd 1 -> fd 6
 *
 * With logger arguments, `logger arg ...` runs with the log pipe on its fd 0
 * and qmail-start's fd 1 as its fd 1. The children's fd 2 is /dev/null (the
 * original closes it). The working directory becomes `/`, the umask 077.
 *
 * As root, when qmail's users and groups exist (qmail-start's auto_uid*)
 * and QMAILHOME/queue belongs to qmailq (a tree made for them, as `make
 * setup` makes it; the C programs have the ids compiled in and only ever
 * run on such a tree): everything runs with gid qmail; the logger as
 * qmaill:nofiles, qmail-rspawn as qmailr, qmail-clean as qmailq, qmail-send
 * as qmails; qmail-lspawn stays root (it changes to each recipient itself).
 * Otherwise (the embedded setup, or a root tree on a machine that has
 * qmail's users but did not give them this queue) nothing changes users.
 *
 * Programs are found in PATH, else in this checkout's bin/ (LWQ's rc puts
 * /var/qmail/bin first in PATH).
 * Exit: 111 on any failure to set up; on success it does not return (it is
 * qmail-send).
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import type { Ctx } from '../lib/program.ts';
import { sys } from '../lib/native.ts';
import { qmailIds } from '../lib/qmailids.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { binPath } from '../lib/root.ts';

/** name searched in env.PATH (executable regular file), else our bin/name. */
export function findProgram(name: string, env: Record<string, string | undefined>): string {
  for (const d of (env.PATH ?? '').split(':')) {
    if (d === '') continue;
    const p = `${d}/${name}`;
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return binPath(name);
}

/** The ids qmail-start switches to, or undefined when not root, qmail's users are missing or the queue (QMAILHOME/queue) is not qmailq's. */
function switchIds(queue: string): { l: number; q: number; r: number; s: number; gq: number; gn: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const ids = qmailIds();
  const { qmaill, qmailq, qmailr, qmails } = ids.users;
  const { qmail, nofiles } = ids.groups;
  if (qmaill === undefined || qmailq === undefined || qmailr === undefined || qmails === undefined || qmail === undefined || nofiles === undefined) return undefined;
  try {
    if (statSync(queue).uid !== qmailq) return undefined;
  } catch {
    return undefined;
  }
  return { l: qmaill, q: qmailq, r: qmailr, s: qmails, gq: qmail, gn: nofiles };
}

/** qmail-start: see the module comment; execs qmail-send, returns 111 only when setting up failed. */
export function main(ctx: Ctx): number {
  try {
    const ids = switchIds(`${qmailHome(ctx.env)}/queue`);
    process.chdir('/');
    process.umask(0o077);
    if (ids) {
      process.setgroups!([ids.gq]);
      process.setgid!(ids.gq);
    }
    const env = ctx.env as NodeJS.ProcessEnv;
    const delivery = ctx.argv[1] ?? './Mailbox';
    const logger = ctx.argv.slice(2);
    let logFd = 1;
    const opened: number[] = [];
    const pipe = (): [number, number] => {
      const p = sys.pipe();
      opened.push(...p);
      return p;
    };
    const child = (prog: string, args: string[], stdio: StdioOptions, uid?: number, gid?: number): void => {
      const c = spawn(prog, args, { stdio, env, uid, gid, cwd: '/' });
      c.on('error', () => undefined);
      c.unref();
    };
    if (logger.length > 0) {
      const [r, w] = pipe();
      child(logger[0], logger.slice(1), [r, 1, 'ignore'], ids?.l, ids?.gn);
      logFd = w;
    }
    const [l0r, l0w] = pipe(); // send -> lspawn
    const [l1r, l1w] = pipe(); // lspawn -> send
    const [r0r, r0w] = pipe();
    const [r1r, r1w] = pipe();
    const [c0r, c0w] = pipe();
    const [c1r, c1w] = pipe();
    child(findProgram('qmail-lspawn', env), [delivery], [l0r, l1w, 'ignore']);
    child(findProgram('qmail-rspawn', env), [], [r0r, r1w, 'ignore'], ids?.r, ids?.gq);
    child(findProgram('qmail-clean', env), [], [c0r, c1w, 'ignore'], ids?.q, ids?.gq);
    const send = findProgram('qmail-send', env);
    if (ids) process.setuid!(ids.s);
    const src = [logFd, l0w, l1r, r0w, r1r, c0w, c1r];
    for (let k = 0; k < src.length; k++) sys.dup2(src[k], 200 + k);
    for (let k = 0; k < src.length; k++) sys.dup2(200 + k, k);
    for (let k = 0; k < src.length; k++) sys.close(200 + k);
    for (const fd of opened) if (fd > 6) sys.close(fd);
    const envp = Object.entries(ctx.env)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`);
    sys.execve(send, ['qmail-send'], envp);
  } catch {
    return 111;
  }
}
