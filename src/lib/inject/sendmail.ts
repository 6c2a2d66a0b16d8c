/**
 * inject/sendmail: what qmail's sendmail wrapper makes of its command line
 * (notqmail sendmail.c; the options are interface facts). sendmailPlan()
 * returns one of:
 *  - inject: run qmail-inject with argv `qmail-inject -H|-a [-f sender] -- args`
 *    (-t gives -H, else -a) and env edits: -F NAME sets MAILNAME; -f SENDER
 *    unsets QMAILNAME, MAILNAME, NAME, QMAILHOST, MAILHOST and sets QMAILUSER
 *    (and QMAILHOST from the part after the last `@`);
 *  - qread (-bp, or invoked as mailq) and smtpd (-bs: when PROTO is unset the
 *    environment of a local SMTP session is set: RELAYCLIENT=, DATABYTES=0,
 *    PROTO=TCP, TCPLOCALIP/TCPREMOTEIP 127.0.0.1, TCPLOCALHOST/TCPREMOTEHOST
 *    localhost, TCPREMOTEINFO sendmail-bs);
 *  - fail: status and message (usage, `please use fastforward/newaliases
 *    instead` when invoked as newaliases).
 * Accepted and ignored: -B x, -p x, -v, -i, -x, -m, -e x, -o x (any -o,
 * among them -oi, -oem, -odb), -bm, -E/-J with an optional attached argument.
 * Option parsing follows DJB's getopt (`NAME: illegal option -- X`).
 */
import { scanOpts } from '../sgetopt.ts';

export const SENDMAIL_USAGE = 'sendmail: usage: sendmail [ -t ] [ -fsender ] [ -Fname ] [ -bp ] [ -bs ] [ arg ... ]';

/** The plan for one invocation. */
export type SendmailPlan =
  | { kind: 'inject'; argv: string[]; env: Record<string, string | undefined> }
  | { kind: 'qread' }
  | { kind: 'smtpd'; env: Record<string, string | undefined> }
  | { kind: 'fail'; status: number; message: string };

/** Environment edits of -f SENDER (sendmail.c do_sender). */
function doSender(env: Record<string, string | undefined>, s: string): void {
  for (const k of ['QMAILNAME', 'MAILNAME', 'NAME', 'QMAILHOST', 'MAILHOST']) delete env[k];
  const a = s.lastIndexOf('@');
  if (a < 0) {
    env.QMAILUSER = s;
    return;
  }
  env.QMAILHOST = s.slice(a + 1);
  env.QMAILUSER = s.slice(0, a);
}

const LOCAL_SMTP: Record<string, string> = {
  RELAYCLIENT: '',
  DATABYTES: '0',
  PROTO: 'TCP',
  TCPLOCALIP: '127.0.0.1',
  TCPLOCALHOST: 'localhost',
  TCPREMOTEIP: '127.0.0.1',
  TCPREMOTEHOST: 'localhost',
  TCPREMOTEINFO: 'sendmail-bs',
};

/**
 * Decide what sendmail does. argv[0] is the name invoked as (its basename
 * selects mailq/newaliases); env is copied, never changed. Problems with
 * options are reported on stderr as getopt does before the usage plan
 * (through `say` when given, see scanOpts()).
 */
export function sendmailPlan(argv: string[], env0: Record<string, string | undefined>, say?: (line: string) => void): SendmailPlan {
  const env = { ...env0 };
  const a0 = argv[0] ?? '';
  const prog = a0.slice(a0.lastIndexOf('/') + 1);
  const usage: SendmailPlan = { kind: 'fail', status: 100, message: SENDMAIL_USAGE };
  let flagh = false;
  let sender: string | undefined;
  const it = scanOpts(prog, argv.slice(1), 'vimte:f:p:o:B:F:E::J::xb:', true, say);
  let r = it.next();
  for (; !r.done; r = it.next()) {
    const { opt, arg } = r.value;
    switch (opt) {
      case '?':
        return usage;
      case 't':
        flagh = true;
        break;
      case 'f':
        sender = arg;
        break;
      case 'F':
        env.MAILNAME = arg;
        break;
      case 'b':
        if (arg![0] === 'p') return { kind: 'qread' };
        if (arg![0] === 's') {
          if (env.PROTO === undefined) Object.assign(env, LOCAL_SMTP);
          return { kind: 'smtpd', env };
        }
        if (arg![0] !== 'm') return usage;
        break;
      default:
        break; // B p v i x m e o E J: accepted, ignored
    }
  }
  if (prog === 'mailq') return { kind: 'qread' };
  if (prog === 'newaliases') return { kind: 'fail', status: 100, message: 'sendmail: fatal: please use fastforward/newaliases instead' };
  const qi = ['qmail-inject', flagh ? '-H' : '-a'];
  if (sender !== undefined) {
    qi.push('-f', sender);
    doSender(env, sender);
  }
  qi.push('--', ...argv.slice(1 + r.value));
  return { kind: 'inject', argv: qi, env };
}
