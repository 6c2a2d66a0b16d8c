/**
 * inject/settings: everything qmail-inject takes from its environment and
 * the control files (qmail-inject(8) "ENVIRONMENT VARIABLES" and "CONTROL
 * FILES"; Life with qmail 4.3), read once per injection:
 *
 * - QMAILINJECT letters: c (From in address-comment style), s (ignore and
 *   delete Return-Path), f (delete From), i (delete Message-ID), r
 *   (per-recipient VERP: sender + `-@[]`), m (per-message VERP: sender +
 *   `-TIME.PID`); other letters are ignored.
 * - From user: QMAILUSER, MAILUSER, USER, LOGNAME, else `anonymous`; host:
 *   QMAILHOST, MAILHOST (else none: defaulthost completes it); name:
 *   QMAILNAME, MAILNAME, NAME. Envelope sender user QMAILSUSER (else the
 *   From user), host QMAILSHOST (else the From host).
 * - control/defaultdomain, defaulthost, plusdomain, idhost (each defaulting
 *   to control/me, then its own literal name), overridden by
 *   QMAILDEFAULTDOMAIN, QMAILDEFAULTHOST, QMAILPLUSDOMAIN, QMAILIDHOST when
 *   set (even to the empty string).
 * - QMAILMFTFILE: a file (relative to the caller's cwd) of mailing-list
 *   addresses for Mail-Followup-To; a missing file means none.
 *
 * Failures throw InjectError: a control file that cannot be read is
 * `read error` (111); a completion that does not tokenize is `unable to parse
 * this line:` (100).
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Control, valueLines } from '../control.ts';
import { errCode } from '../errstr.ts';
import { completion, type Completions } from './rewrite.ts';
import type { Token } from './token822.ts';

/** A qmail-inject failure: its exit status and the text after `qmail-inject: fatal: ` (with any final newline). */
export class InjectError extends Error {
  readonly status: number;
  readonly text: string;
  constructor(status: number, text: string) {
    super(text);
    this.status = status;
    this.text = text;
  }
}

/** qmail-inject's configuration for one run. */
export interface InjectSettings extends Completions {
  flagNameComment: boolean;
  flagDeleteSender: boolean;
  flagDeleteFrom: boolean;
  flagDeleteMessId: boolean;
  flagHackRecip: boolean;
  flagHackMess: boolean;
  mailhost?: string;
  mailuser: string;
  mailrhost?: string;
  mailruser: string;
  fullname?: string;
  idhost: string;
  /** lower-cased mailing-list addresses from QMAILMFTFILE, when that file exists */
  mft?: Set<string>;
}

/** A string from the environment or argv, as the bytes C sees (UTF-8 encoded), one char a byte. */
export function latin1(v: string | undefined): string | undefined {
  return v === undefined ? undefined : Buffer.from(v, 'utf8').toString('latin1');
}

const readErr = (): InjectError => new InjectError(111, 'read error\n');

function tokens(prefix: string, value: string): Token[] {
  const t = completion(prefix, value);
  if (!t) throw new InjectError(100, `unable to parse this line:\n${prefix}${value}`);
  return t;
}

/**
 * Read the settings. env is the program's environment (latin1 strings as
 * Node gives them), home the qmail home, cwd where QMAILMFTFILE is resolved.
 */
export function injectSettings(rawEnv: Record<string, string | undefined>, home: string, cwd: string): InjectSettings {
  const env = new Proxy(rawEnv, { get: (o, k: string) => latin1(o[k]) });
  const q = env.QMAILINJECT ?? '';
  const mailhost = env.QMAILHOST ?? env.MAILHOST;
  const mailuser = env.QMAILUSER ?? env.MAILUSER ?? env.USER ?? env.LOGNAME ?? 'anonymous';
  let mft: Set<string> | undefined;
  const mf = env.QMAILMFTFILE;
  if (mf !== undefined) {
    try {
      mft = new Set(valueLines(readFileSync(resolve(cwd, mf), 'latin1')).map((l) => l.toLowerCase()));
    } catch (e) {
      if (errCode(e) !== 'ENOENT') throw readErr();
    }
  }
  try {
    accessSync(home, constants.X_OK);
  } catch {
    throw new InjectError(111, 'internal bug\n'); // qmail-inject's chdir(auto_qmail) failure
  }
  const c = new Control(home);
  let dd: string, dh: string, pd: string, id: string;
  try {
    c.me();
    dd = env.QMAILDEFAULTDOMAIN ?? c.rldef('defaultdomain', true, 'defaultdomain');
    dh = env.QMAILDEFAULTHOST ?? c.rldef('defaulthost', true, 'defaulthost');
    pd = env.QMAILPLUSDOMAIN ?? c.rldef('plusdomain', true, 'plusdomain');
    id = env.QMAILIDHOST ?? c.rldef('idhost', true, 'idhost');
  } catch {
    throw readErr();
  }
  return {
    flagNameComment: q.includes('c'),
    flagDeleteSender: q.includes('s'),
    flagDeleteFrom: q.includes('f'),
    flagDeleteMessId: q.includes('i'),
    flagHackRecip: q.includes('r'),
    flagHackMess: q.includes('m'),
    mailhost,
    mailuser,
    mailrhost: env.QMAILSHOST ?? mailhost,
    mailruser: env.QMAILSUSER ?? mailuser,
    fullname: env.QMAILNAME ?? env.MAILNAME ?? env.NAME,
    idhost: id,
    mft,
    defaultdomain: tokens('.', dd),
    defaulthost: tokens('@', dh),
    plusdomain: tokens('.', pd),
  };
}
