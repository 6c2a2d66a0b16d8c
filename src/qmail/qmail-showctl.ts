/**
 * qmail-showctl: analyze the qmail configuration files (qmail-showctl(8)).
 *
 * Prints on stdout the compiled-in settings (qmail home, user-ext delimiter
 * `-`, paternalism 2 (conf-patrn 002), silent concurrency limit 120, the
 * queue's subdirectory split, the qmail user and group ids), then one
 * paragraph per control file of qmail-control(5) in the original's order and
 * words (`(Default.) ...` when absent, `Oops! Trouble reading this file.` on
 * errors), the morercpthosts.cdb freshness check, and `I have no idea what
 * this file does.` for every other file in QMAILHOME/control (readdir order).
 * Bytes outside 32..126 in values print as `?`.
 *
 * Deviation: the original exits 111 (`fatal: unable to find user NAME`) when
 * a qmail user is missing; this one prints `?` for that id so the embedded
 * setup (no qmail users) can be inspected. Exit 111 with `Oops! Unable to
 * chdir to ...` when QMAILHOME or its control directory is missing.
 */
import { accessSync, constants, statSync } from 'node:fs';
import type { Ctx } from '../lib/program.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { Control } from '../lib/control.ts';
import { QMAIL_GROUPS, QMAIL_USERS, qmailIds } from '../lib/qmailids.ts';
import { queueDir, queueSplit, readdirRaw } from '../lib/queue/layout.ts';
import { writeAll } from '../lib/strerr.ts';

/** conf-break, conf-patrn, conf-spawn as qmail 1.03 ships them. */
export const AUTO_BREAK = '-';
export const AUTO_PATRN = 0o002;
export const AUTO_SPAWN = 120;

const KNOWN = new Set([
  'badmailfrom', 'bouncefrom', 'bouncehost', 'concurrencylocal', 'concurrencyremote', 'databytes',
  'defaultdomain', 'defaulthost', 'doublebouncehost', 'doublebounceto', 'envnoathost', 'helohost',
  'idhost', 'localiphost', 'locals', 'me', 'morercpthosts', 'morercpthosts.cdb', 'percenthack',
  'plusdomain', 'qmqpservers', 'queuelifetime', 'rcpthosts', 'smtpgreeting', 'smtproutes',
  'timeoutconnect', 'timeoutremote', 'timeoutsmtpd', 'virtualdomains',
]);

/** `?` for bytes outside 32..126 (safeput). */
const safe = (s: string): string => s.replace(/[^\x20-\x7e]/g, '?');

/** The whole report for a qmail home, or [text so far, 111] on a fatal problem. */
export function showctl(home: string): [string, number] {
  const ids = qmailIds();
  const id = (n: number | undefined): string => (n === undefined ? '?' : String(n));
  let o = `qmail home directory: ${home}.\n`;
  o += `user-ext delimiter: ${AUTO_BREAK}.\n`;
  o += `paternalism (in decimal): ${AUTO_PATRN}.\n`;
  o += `silent concurrency limit: ${AUTO_SPAWN}.\n`;
  o += `subdirectory split: ${queueSplit(queueDir(home))}.\n`;
  o += `user ids: ${QMAIL_USERS.map((u) => id(ids.users[u])).join(', ')}.\n`;
  o += `group ids: ${QMAIL_GROUPS.map((g) => id(ids.groups[g])).join(', ')}.\n`;
  const ctl = new Control(home);
  try {
    accessSync(home, constants.X_OK);
  } catch {
    return [o + `Oops! Unable to chdir to ${home}.\n`, 111];
  }
  let names: string[];
  try {
    accessSync(ctl.dir, constants.X_OK);
  } catch {
    return [o + 'Oops! Unable to chdir to control.\n', 111];
  }
  try {
    names = readdirRaw(ctl.dir);
  } catch {
    return [o + 'Oops! Unable to open current directory.\n', 111];
  }
  let me: string | undefined;
  try {
    me = ctl.me();
  } catch {
    return [o + 'Oops! Trouble reading control/me.', 111];
  }
  const trouble = 'Oops! Trouble reading this file.\n';

  /** The `fn: ` heading, then fn's first line ({ v: undefined } if absent); undefined after `trouble`. */
  const readLine = (fn: string): { v: string | undefined } | undefined => {
    o += `\n${fn}: `;
    try {
      return { v: ctl.readline(fn) };
    } catch {
      o += trouble;
      return undefined;
    }
  };
  const doInt = (fn: string, def: string, pre: string, post: string): void => {
    const r = readLine(fn);
    if (!r) return;
    const v = r.v;
    const n = v === undefined ? undefined : /^[0-9]+/.exec(v)?.[0];
    if (n === undefined) o += `(Default.) ${pre}${def}${post}.\n`;
    else {
      const i = Number(n) | 0; // *i = u: an int, negative ones shown as 0
      o += `${pre}${i < 0 ? 0 : i}${post}.\n`;
    }
  };
  const doStr = (fn: string, flagme: boolean, def: string, pre: string): void => {
    const r = readLine(fn);
    if (!r) return;
    let v = r.v;
    if (v === undefined) {
      o += '(Default.) ';
      v = flagme && me !== undefined ? me : def;
    }
    o += `${pre}${safe(v)}.\n`;
  };
  const doLst = (fn: string, def: string, pre: string, post: string): number => {
    o += `\n${fn}: `;
    let v: string[] | undefined;
    try {
      v = ctl.readfile(fn);
    } catch {
      o += trouble;
      return -1;
    }
    if (v === undefined) {
      o += `(Default.) ${def}\n`;
      return 0;
    }
    o += '\n';
    for (const l of v) o += `${pre}${safe(l)}${post}\n`;
    return 1;
  };

  doLst('badmailfrom', 'Any MAIL FROM is allowed.', '', ' not accepted in MAIL FROM.');
  doStr('bouncefrom', false, 'MAILER-DAEMON', 'Bounce user name is ');
  doStr('bouncehost', true, 'bouncehost', 'Bounce host name is ');
  doInt('concurrencylocal', '10', 'Local concurrency is ', '');
  doInt('concurrencyremote', '20', 'Remote concurrency is ', '');
  doInt('databytes', '0', 'SMTP DATA limit is ', ' bytes');
  doStr('defaultdomain', true, 'defaultdomain', 'Default domain name is ');
  doStr('defaulthost', true, 'defaulthost', 'Default host name is ');
  doStr('doublebouncehost', true, 'doublebouncehost', '2B recipient host: ');
  doStr('doublebounceto', false, 'postmaster', '2B recipient user: ');
  doStr('envnoathost', true, 'envnoathost', 'Presumed domain name is ');
  doStr('helohost', true, 'helohost', 'SMTP client HELO host name is ');
  doStr('idhost', true, 'idhost', 'Message-ID host name is ');
  doStr('localiphost', true, 'localiphost', 'Local IP address becomes ');
  doLst('locals', 'Messages for me are delivered locally.', 'Messages for ', ' are delivered locally.');
  doStr('me', false, 'undefined! Uh-oh', 'My name is ');
  doLst('percenthack', 'The percent hack is not allowed.', 'The percent hack is allowed for user%host@', '.');
  doStr('plusdomain', true, 'plusdomain', 'Plus domain name is ');
  doLst('qmqpservers', 'No QMQP servers.', 'QMQP server: ', '.');
  doInt('queuelifetime', '604800', 'Message lifetime in the queue is ', ' seconds');
  if (doLst('rcpthosts', 'SMTP clients may send messages to any recipient.', 'SMTP clients may send messages to recipients at ', '.')) {
    doLst('morercpthosts', 'No effect.', 'SMTP clients may send messages to recipients at ', '.');
  } else {
    doLst('morercpthosts', 'No rcpthosts; morercpthosts is irrelevant.', "No rcpthosts; doesn't matter that morercpthosts has ", '.');
  }
  o += '\nmorercpthosts.cdb: ';
  const mtime = (p: string): number | undefined => {
    try {
      return Math.floor(statSync(p).mtimeMs / 1000);
    } catch {
      return undefined;
    }
  };
  const a = mtime(ctl.path('morercpthosts'));
  const b = mtime(ctl.path('morercpthosts.cdb'));
  if (a === undefined) o += b === undefined ? '(Default.) No effect.\n' : "Oops! morercpthosts.cdb exists but morercpthosts doesn't.\n";
  else if (b === undefined) o += "Oops! morercpthosts exists but morercpthosts.cdb doesn't.\n";
  else if (a > b) o += 'Oops! morercpthosts.cdb is older than morercpthosts.\n';
  else o += 'Modified recently enough; hopefully up to date.\n';
  doStr('smtpgreeting', true, 'smtpgreeting', 'SMTP greeting: 220 ');
  doLst('smtproutes', 'No artificial SMTP routes.', 'SMTP route: ', '');
  doInt('timeoutconnect', '60', 'SMTP client connection timeout is ', ' seconds');
  doInt('timeoutremote', '1200', 'SMTP client data timeout is ', ' seconds');
  doInt('timeoutsmtpd', '1200', 'SMTP server data timeout is ', ' seconds');
  doLst('virtualdomains', 'No virtual domains.', 'Virtual domain: ', '');
  for (const n of names) if (!KNOWN.has(n)) o += `\n${n}: I have no idea what this file does.\n`;
  return [o, 0];
}

export function main(ctx: Ctx): number {
  const [text, code] = showctl(qmailHome(ctx.env));
  writeAll(1, Buffer.from(text, 'latin1'));
  return code;
}
