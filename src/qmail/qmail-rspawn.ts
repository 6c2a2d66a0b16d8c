/**
 * qmail-rspawn
 *
 * qmail-send's remote delivery spawner (qmail-rspawn(8)): reads delivery
 * commands on fd 0 and writes reports on fd 1 in qmail's spawn protocol
 * (src/lib/spawn/protocol.ts: greeting byte = 120, then
 * `DELNUM MESSID\0SENDER\0RECIP\0` in, `DELNUM STATUS TEXT\0` out, in
 * completion order). For each command it checks the command as spawn.c does,
 * opens QMAILHOME/queue/mess/MESSID (a regular file owned by the queue's
 * owner) and runs
 *
 *     qmail-remote host sender recip
 *
 * with the message on fd 0 and fd 1 + fd 2 on a pipe; `host` is the part of
 * recip after its last `@`. The program is $QMAILREMOTE when set, else
 * QMAILHOME/bin/qmail-remote when that exists, else `qmail-remote` from
 * PATH. Its output and exit code become the report (rspawn/report.ts).
 *
 * At start it clears qmail-remote's TCP timeout table, QMAILHOME/queue/lock/tcpto
 * (1024 zero bytes; tcpto_clean, errors ignored), as the original does.
 *
 * Environment: QMAILHOME, QMAILREMOTE, PATH; the rest is passed on.
 * Exit: 111 when QMAILHOME/queue/mess is missing; 0 after fd 0's EOF once
 * every delivery has been reported.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, existsSync, fstatSync, openSync, statSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Ctx } from '../lib/program.ts';
import { sys } from '../lib/native.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { AUTO_SPAWN, checkCommand, CommandParser, encodeGreeting, encodeReport, type Command } from '../lib/spawn/protocol.ts';
import { remoteReport } from '../lib/rspawn/report.ts';

/** Which program runs a remote delivery (see module comment). */
export function remoteProgram(env: Record<string, string | undefined>, home: string): string {
  if (env.QMAILREMOTE) return env.QMAILREMOTE;
  const own = `${home}/bin/qmail-remote`;
  return existsSync(own) ? own : 'qmail-remote';
}

/** tcpto_clean(): overwrite the tcpto table with 1024 zero bytes; a missing or unwritable file is ignored. */
export function tcptoClean(path: string): void {
  try {
    const fd = openSync(path, constants.O_WRONLY);
    try {
      writeSync(fd, Buffer.alloc(1024), 0, 1024, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* if it fails, bummer */
  }
}

/** One delivery: command -> report text with status letter first. */
function deliver(cmd: Command, messDir: string, owner: number, prog: string, env: Record<string, string | undefined>): Promise<{ status: string; text: string }> {
  const at = cmd.recipient.lastIndexOf('@');
  let fd: number;
  try {
    fd = openSync(Buffer.from(`${messDir}/${cmd.messid}`, 'latin1'), constants.O_RDONLY);
  } catch {
    return Promise.resolve({ status: 'Z', text: 'qmail-spawn unable to open message. (#4.3.0)\n' });
  }
  let st;
  try {
    st = fstatSync(fd);
  } catch {
    closeSync(fd);
    return Promise.resolve({ status: 'Z', text: 'qmail-spawn unable to fstat message. (#4.3.0)\n' });
  }
  if (!st.isFile()) {
    closeSync(fd);
    return Promise.resolve({ status: 'Z', text: 'Sorry, message has wrong type. (#4.3.5)\n' });
  }
  if (st.uid !== owner) {
    closeSync(fd);
    return Promise.resolve({ status: 'Z', text: 'Sorry, message has wrong owner. (#4.3.5)\n' });
  }
  const arg = (s: string): string => Buffer.from(s, 'latin1').toString('utf8');
  let pipe: [number, number];
  try {
    pipe = sys.pipe();
  } catch {
    closeSync(fd);
    return Promise.resolve({ status: 'Z', text: 'qmail-spawn unable to create pipe. (#4.3.0)\n' });
  }
  const [r, w] = pipe;
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    let child;
    try {
      // fd 1 and fd 2 on the same pipe (fd_copy(2,1)), so the report keeps the order of the writes
      child = spawn(prog, [arg(cmd.recipient.slice(at + 1)), arg(cmd.sender), arg(cmd.recipient)], { stdio: [fd, w, w], env: env as NodeJS.ProcessEnv });
    } catch {
      closeSync(fd);
      closeSync(w);
      closeSync(r);
      resolve({ status: 'Z', text: 'qmail-spawn unable to fork. (#4.3.0)\n' });
      return;
    }
    closeSync(fd);
    closeSync(w);
    let failed: NodeJS.ErrnoException | undefined;
    let exit: { code: number; crashed: boolean } | undefined;
    let eof = false;
    const done = (): void => {
      if (!eof || !exit) return;
      if (failed) {
        // execvp failed in the child: 111 for a temporary errno, else 100
        const temp = ['EAGAIN', 'ENOMEM', 'ETXTBSY', 'EIO', 'ENFILE', 'EMFILE', 'ETIMEDOUT', 'EINTR'].includes(failed.code ?? '');
        resolve(remoteReport({ code: temp ? 111 : 100 }, Buffer.alloc(0)));
      } else resolve(remoteReport(exit, Buffer.concat(out)));
    };
    const rs = new Socket({ fd: r, readable: true, writable: false });
    rs.on('data', (b: Buffer) => out.push(b));
    rs.on('error', () => undefined);
    rs.on('close', () => {
      eof = true;
      done();
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      failed = e;
      exit = { code: 0, crashed: false };
      done();
    });
    child.on('exit', (code, sig) => {
      exit = { code: code ?? 0, crashed: sig !== null };
      done();
    });
  });
}

/** qmail-rspawn: see the module comment; resolves 0 after EOF and the last report, 111 without queue/mess. */
export async function main(ctx: Ctx): Promise<number> {
  const home = qmailHome(ctx.env);
  const messDir = `${home}/queue/mess`;
  let owner: number;
  try {
    owner = statSync(messDir).uid;
  } catch {
    return 111;
  }
  tcptoClean(`${home}/queue/lock/tcpto`);
  const prog = remoteProgram(ctx.env, home);
  let writing = true;
  const out = ctx.stdout;
  out.on('error', () => (writing = false));
  const send = (b: Buffer): void => {
    if (writing) out.write(b);
  };
  send(encodeGreeting(AUTO_SPAWN));
  const busy = new Set<number>();
  const pending = new Set<Promise<void>>();
  const parser = new CommandParser();
  await new Promise<void>((resolve) => {
    ctx.stdin.on('data', (chunk: Buffer) => {
      for (const cmd of parser.push(chunk)) {
        const bad = checkCommand(cmd, AUTO_SPAWN, (n) => busy.has(n));
        if (bad) {
          send(encodeReport(cmd.delnum, bad[0], bad.slice(1), 0));
          continue;
        }
        busy.add(cmd.delnum);
        const p = deliver(cmd, messDir, owner, prog, ctx.env).then((r) => {
          busy.delete(cmd.delnum);
          send(encodeReport(cmd.delnum, r.status, r.text, 0));
        });
        pending.add(p);
        void p.finally(() => pending.delete(p));
      }
    });
    ctx.stdin.on('end', resolve);
    ctx.stdin.on('error', () => resolve());
  });
  while (pending.size > 0) await Promise.all([...pending]);
  if (writing) await new Promise<void>((r) => out.write(Buffer.alloc(0), () => r()));
  return 0;
}
