/**
 * preline [ -fdrFDR ] cmd [ arg ... ]
 *
 * preline(1): run cmd with the message on its stdin preceded by the
 * $UFLINE (From_), $RPLINE (Return-Path) and $DTLINE (Delivered-To) lines
 * qmail-local sets (-f, -r, -d leave one out; -F, -R, -D put it back).
 * Exits with cmd's exit code. Usage (any of the three variables unset, no
 * cmd, a bad option): `preline: usage: preline cmd [ arg ... ]`, 100.
 * `preline: fatal: unable to run CMD: E` (111 for a temporary errno, else
 * 100), `unable to copy input: E` (111: e.g. cmd did not read it all),
 * `child crashed` (111).
 */
import type { Ctx } from '../lib/program.ts';
import { sgetopt } from '../lib/sgetopt.ts';
import { errline } from '../lib/strerr.ts';
import { errstr, errCode } from '../lib/errstr.ts';
import { isTempErrno } from '../lib/deliver/errtemp.ts';
import { runChild } from '../lib/local/child.ts';
import { fdChunks } from '../lib/fdio.ts';

const USAGE = 'preline: usage: preline cmd [ arg ... ]';

export async function main(ctx: Ctx): Promise<number> {
  const uf = ctx.env.UFLINE;
  const rp = ctx.env.RPLINE;
  const dt = ctx.env.DTLINE;
  if (uf === undefined || rp === undefined || dt === undefined) {
    errline(USAGE);
    return 100;
  }
  const p = sgetopt('preline', ctx.argv.slice(1), 'frdFRD');
  if (p.bad || p.rest.length === 0) {
    errline(USAGE);
    return 100;
  }
  let f = true;
  let r = true;
  let d = true;
  for (const o of p.opts) {
    if (o.opt === 'f') f = false;
    else if (o.opt === 'r') r = false;
    else if (o.opt === 'd') d = false;
    else if (o.opt === 'F') f = true;
    else if (o.opt === 'R') r = true;
    else if (o.opt === 'D') d = true;
  }
  let copyError: unknown;
  let pumped: Promise<void> = Promise.resolve();
  const end = await runChild(p.rest, ctx.env, ['pipe', 'inherit', 'inherit'], (stdin) => {
    stdin.on('error', (e) => (copyError ??= e));
    const head = (f ? uf : '') + (r ? rp : '') + (d ? dt : '');
    const put = (b: string | Buffer): Promise<void> | undefined => {
      if (stdin.destroyed) {
        copyError ??= Object.assign(new Error('broken pipe'), { code: 'EPIPE' });
        return undefined;
      }
      if (stdin.write(b)) return undefined;
      return new Promise<void>((res) => {
        stdin.once('drain', res);
        stdin.once('close', res);
        stdin.once('error', () => res());
      });
    };
    const pump = async (): Promise<void> => {
      try {
        if (head !== '') await put(head);
        for (const chunk of fdChunks(0)) {
          if (copyError) break;
          await put(chunk);
        }
      } catch (e) {
        copyError ??= e;
      }
      if (!stdin.destroyed) stdin.end();
    };
    pumped = pump();
  });
  await pumped;
  if ('execError' in end) {
    errline(`preline: fatal: unable to run ${p.rest[0]}: ${errstr(end.execError)}`);
    return isTempErrno(errCode(end.execError)) ? 111 : 100;
  }
  if (copyError) {
    errline(`preline: fatal: unable to copy input: ${errstr(copyError)}`);
    return 111;
  }
  if ('crashed' in end) {
    errline('preline: fatal: child crashed');
    return 111;
  }
  return end.code;
}
