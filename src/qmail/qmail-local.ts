/**
 * qmail-local [ -nN ] user homedir local dash ext domain sender defaultdelivery
 *
 * Deliver the message on fd 0 (a regular file: it is read once per
 * delivery instruction) to the local address LOCAL@DOMAIN as
 * HOMEDIR/.qmail DASH EXT says (qmail-local(8), dot-qmail(5),
 * qmail-command(8)); the work is src/lib/local/deliver.ts. -n prints the
 * instructions (`maildir X`, `mbox X`, `program X`, `forward X`) instead of
 * following them; -N (default) follows them.
 *
 * Output, as qmail-lspawn reads it: on success `did F+W+P` (files,
 * forwards, programs) and `qp N` when a forward was queued, on fd 1; error
 * texts ("Sorry, no mailbox here by that name. (#5.1.1)") on fd 2; a
 * program delivery's output on fd 1.
 * Exit codes: 0 delivered, 100 permanent failure (usage too), 111
 * temporary failure. The process umask is 077, as qmail-local sets it.
 * Environment: passed on to programs with the qmail-command variables;
 * QMAILHOME and QMAILQUEUE for forwards.
 */
import { fstatSync, writeSync } from 'node:fs';
import type { Ctx } from '../lib/program.ts';
import { sgetopt } from '../lib/sgetopt.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { errline } from '../lib/strerr.ts';
import { localDeliver, localUsage } from '../lib/local/deliver.ts';
import { Message } from '../lib/local/message.ts';
import { errstr } from '../lib/errstr.ts';

/** A command-line string back to its bytes as a latin1 string (argv is decoded as UTF-8). */
function bytes(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

function put(fd: number, text: string): void {
  const b = Buffer.from(text, 'latin1');
  let off = 0;
  while (off < b.length) {
    try {
      off += writeSync(fd, b, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      return; // qmail-local ignores SIGPIPE and write errors on its output
    }
  }
}

export async function main(ctx: Ctx): Promise<number> {
  process.umask(0o077);
  const p = sgetopt('qmail-local', ctx.argv.slice(1), 'nN');
  let doit = true;
  for (const o of p.opts) {
    if (o.opt === 'n') doit = false;
    else if (o.opt === 'N') doit = true;
  }
  const args = p.rest;
  if (p.bad || args.length !== 8) {
    errline(localUsage);
    return 100;
  }
  const [user, homedir, local, dash, ext, host, sender, aliasempty] = args.map(bytes);
  if (homedir[0] !== '/') {
    errline(localUsage);
    return 100;
  }
  let message: Message;
  try {
    if (!fstatSync(0).isFile()) throw new Error('not a file');
    message = Message.open('/proc/self/fd/0');
  } catch (e) {
    void errstr(e);
    put(2, 'Unable to rewind message. (#4.3.0)\n');
    return 111;
  }
  const r = await localDeliver(
    { user, homedir, local, dash, ext, host, sender, aliasempty },
    message,
    { doit, env: ctx.env, qmailhome: qmailHome(ctx.env) },
  );
  for (const [fd, text] of r.parts) put(fd, text);
  return r.code;
}
