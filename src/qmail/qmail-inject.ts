/**
 * qmail-inject: preprocess and send a mail message (qmail-inject(8),
 * qmail-header(5)).
 *
 *     qmail-inject [ -nNaAhH ] [ -fsender ] [ recip ... ]
 *
 * Reads the message on descriptor 0, rewrites its header and queues it
 * (src/lib/inject/inject.ts has the rules; settings.ts the environment
 * variables and control files). -a: recipients from the arguments only;
 * -h: from the header only; -A (default): the arguments, or the header when
 * there are none; -H: both. -n prints the message (with a `Return-Path:`
 * line first) instead of queueing it; -N (default) queues. -f sets the
 * envelope sender.
 *
 * Exit codes: 0 queued (or printed); 100 bad option (no message, as the
 * original), bad header or address (`qmail-inject: fatal: unable to parse
 * this line:`, `invalid header field:`, `unable to parse address:`), or a
 * permanent queue refusal; 111 read error, unreadable controls, temporary
 * queue failure (`qmail-inject: fatal: qq ...`).
 */
import type { Writable } from 'node:stream';
import type { Ctx } from '../lib/program.ts';
import { progName } from '../lib/program.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { sgetopt } from '../lib/sgetopt.ts';
import { writeAll } from '../lib/strerr.ts';
import { injectMessage, type Caller, type RecipStrategy } from '../lib/inject/inject.ts';
import { InjectError, injectSettings, latin1 } from '../lib/inject/settings.ts';
import { readStream } from '../lib/inject/readall.ts';

export function main(ctx: Ctx): Promise<number> {
  return runInject(ctx);
}

/** Write b to one of ctx's output streams (the descriptor itself for this process's own). */
async function output(s: Writable, fd: number, b: Buffer): Promise<void> {
  if (s === (fd === 1 ? process.stdout : process.stderr)) writeAll(fd, b);
  else await new Promise<void>((res) => s.write(b, () => res()));
}

/**
 * qmail-inject for ctx, in this process. `caller`: the process the message
 * is injected for, when that is not this one (qmail-queued serving
 * bin/qmail-inject's native front end, src/lib/inject/served.ts): its uid
 * and pid go into the queue's records and the pid into Message-ID, as if it
 * had run qmail-inject itself. Output goes to ctx.stdout/ctx.stderr.
 */
export async function runInject(ctx: Ctx, caller?: Caller): Promise<number> {
  const now = Math.floor(Date.now() / 1000);
  const home = qmailHome(ctx.env);
  const say = (line: string): void => void output(ctx.stderr, 2, Buffer.from(line + '\n', 'latin1')).catch(() => undefined);
  try {
    const settings = injectSettings(ctx.env, home, ctx.cwd);
    const p = sgetopt(progName(ctx.argv[0] ?? 'qmail-inject'), ctx.argv.slice(1), 'aAhHnNf:', true, say);
    let strategy: RecipStrategy = 'default';
    let print = false;
    let sender: string | undefined;
    for (const o of p.opts) {
      switch (o.opt) {
        case 'a':
          strategy = 'args';
          break;
        case 'A':
          strategy = 'default';
          break;
        case 'h':
          strategy = 'header';
          break;
        case 'H':
          strategy = 'both';
          break;
        case 'n':
          print = true;
          break;
        case 'N':
          print = false;
          break;
        case 'f':
          sender = latin1(o.arg);
          break;
        default:
          return 100;
      }
    }
    let input: Buffer;
    try {
      input = await readStream(ctx.stdin);
    } catch {
      throw new InjectError(111, 'read error\n');
    }
    const r = await injectMessage(ctx.env, home, settings, {
      input,
      args: p.rest.map((a) => latin1(a)!),
      strategy,
      sender,
      now,
      pid: caller?.pid ?? process.pid,
      print,
    }, caller);
    if (r.output) {
      try {
        await output(ctx.stdout, 1, r.output);
      } catch {
        /* as the original: output errors do not change the exit code */
      }
    }
    return 0;
  } catch (e) {
    if (!(e instanceof InjectError)) throw e;
    try {
      await output(ctx.stderr, 2, Buffer.from(`qmail-inject: fatal: ${e.text}`, 'latin1'));
    } catch {
      /* as the original: nothing more to do */
    }
    return e.status;
  }
}
