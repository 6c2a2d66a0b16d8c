/**
 * sendmail: the sendmail interface to qmail (qmail's sendmail wrapper;
 * options in src/lib/inject/sendmail.ts).
 *
 *     sendmail [ -t ] [ -fsender ] [ -Fname ] [ -bp ] [ -bs ] [ arg ... ]
 *
 * Messages go to qmail-inject (`-a` with the arguments as recipients, `-H`
 * with -t), run in this process rather than exec'd (the same code, one
 * process start less). -bp (or invoked as mailq) execs qmail-qread, -bs execs
 * qmail-smtpd on stdin/stdout (same pid, as the original), both from this
 * checkout's bin/. The qmail home must be searchable, else `sendmail: fatal:
 * unable to switch to qmail home directory` (111). Exit codes are
 * qmail-inject's; 100 for usage; 111 when a program cannot be run.
 */
import { accessSync, constants } from 'node:fs';
import { subCtx, type Ctx } from '../lib/program.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { binPath } from '../lib/root.ts';
import { errline } from '../lib/strerr.ts';
import { sys } from '../lib/native.ts';
import { environ, keepInheritedFds } from '../lib/pathexec.ts';
import { sendmailPlan } from '../lib/inject/sendmail.ts';
import { main as injectMain } from './qmail-inject.ts';

/** Exec one of our programs as `bin/NAME` (same pid); returns 111 with the original's message on failure. */
function execOurs(name: string, env: Record<string, string | undefined>): number {
  try {
    keepInheritedFds();
    sys.execve(binPath(name), [`bin/${name}`], environ(env));
  } catch {
    /* fall through */
  }
  errline(`sendmail: fatal: unable to run ${name}`);
  return 111;
}

export async function main(ctx: Ctx): Promise<number> {
  try {
    accessSync(qmailHome(ctx.env), constants.X_OK);
  } catch {
    errline('sendmail: fatal: unable to switch to qmail home directory');
    return 111;
  }
  const plan = sendmailPlan(ctx.argv, ctx.env);
  switch (plan.kind) {
    case 'fail':
      errline(plan.message);
      return plan.status;
    case 'qread':
      return execOurs('qmail-qread', ctx.env);
    case 'smtpd':
      return execOurs('qmail-smtpd', plan.env);
    case 'inject':
      return injectMain(subCtx(ctx, plan.argv, plan.env));
  }
}
