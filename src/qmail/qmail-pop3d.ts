/**
 * qmail-pop3d maildirname
 *
 * Distributes mail via POP (qmail-pop3d(8), notqmail): lets the user read
 * and delete the mail of the maildir `maildirname` (relative to the
 * working directory, which checkpassword made $HOME) through descriptors 0
 * (from the client) and 1 (to the client). The maildir semantics are in
 * src/lib/pop3/mailbox.ts, the commands and their replies in
 * src/lib/pop3/transaction.ts, the message conversion in blast.ts.
 * 20-minute idle timeout; supports UIDL, TOP, LAST and CAPA.
 *
 * Errors (the original's texts): run as uid 0: `qmail-pop3d invoked as uid
 * 0, terminating` on descriptor 2, exit 1. No argument, or maildirname is
 * not a searchable directory: `-ERR this user has no $HOME/Maildir`, exit 0.
 * new/ or cur/ unreadable: `-ERR unable to scan $HOME/Maildir`, exit 0.
 * Otherwise exit 0 whenever the session ends (QUIT, end of input, timeout,
 * the client gone).
 *
 * In-process capable (exports inProcess): uses only ctx's streams, env and
 * cwd; checkpassword runs it in its own process after becoming the user.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Ctx } from '../lib/program.ts';
import { LineReader, streamSource } from '../lib/pop3/command.ts';
import { ScanError, openMailbox } from '../lib/pop3/mailbox.ts';
import { serveTransaction } from '../lib/pop3/transaction.ts';

export const inProcess = true;

/** The original's idle timeout, seconds. */
const TIMEOUT = 1200;

function send(ctx: Ctx, text: string): Promise<void> {
  return new Promise((res) => ctx.stdout.write(text, () => res()));
}

export async function main(ctx: Ctx): Promise<number> {
  if (process.getuid?.() === 0) {
    ctx.stderr.write('qmail-pop3d invoked as uid 0, terminating\n');
    return 1;
  }
  const name = ctx.argv[1];
  const dir = name === undefined ? '' : resolve(ctx.cwd, name);
  try {
    if (name === undefined || !statSync(dir).isDirectory()) throw new Error('ENOTDIR');
    accessSync(dir, constants.X_OK);
  } catch {
    await send(ctx, '-ERR this user has no $HOME/Maildir\r\n');
    return 0;
  }
  let box;
  try {
    box = openMailbox(dir);
  } catch (e) {
    if (!(e instanceof ScanError)) throw e;
    await send(ctx, '-ERR unable to scan $HOME/Maildir\r\n');
    return 0;
  }
  await serveTransaction(box, new LineReader(streamSource(ctx.stdin), TIMEOUT), ctx.stdout);
  return 0;
}
