/**
 * smtp/config: what qmail-smtpd reads when a connection starts (its
 * setup(); qmail-smtpd(8) "CONTROL FILES", tcp-environ(5)), from a qmail
 * home's control files and the environment tcpserver gave it:
 *
 *   smtpgreeting (default me; neither -> error), localiphost (default me;
 *   neither -> no rewriting), timeoutsmtpd (default 1200, <= 0 -> 1),
 *   rcpthosts + morercpthosts.cdb, badmailfrom, databytes (default 0;
 *   DATABYTES overrides it: its leading digits, 0 when none);
 *   TCPREMOTEIP, TCPLOCALHOST/TCPLOCALIP, TCPREMOTEHOST (each `unknown` when
 *   unset), TCPREMOTEINFO, RELAYCLIENT, SMTPS (TLS from the start).
 * Beyond the original: servercert.pem (STARTTLS) and checkpassword (its
 * first line, split at blanks: the checkpassword program and its arguments,
 * e.g. `/usr/bin/checkpassword /bin/true`; AUTH) and rcptcheck (recipient
 * validation; its content is not read) when they exist.
 *
 * Throws when the qmail home cannot be entered or a control file cannot be
 * read (the caller answers `421 unable to read controls (#4.3.0)`).
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { errCode } from '../errstr.ts';
import { Control, scanUlong } from '../control.ts';
import { BadMailFrom } from './badmailfrom.ts';
import { ipmeIs } from './ipme.ts';
import { RcptHosts } from './rcpthosts.ts';
import { RcptCheck } from './rcptcheck.ts';
import type { SmtpConfig } from './session.ts';

/** A file's bytes, or undefined when it does not exist; other errors throw. */
function readOptional(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** No smtpgreeting and no me. */
export class NoGreeting extends Error {
  constructor() {
    super('no smtpgreeting and no me');
  }
}

/** Read the session's configuration (see the module comment); close its rcpthosts when done. */
export function loadConfig(home: string, env: Record<string, string | undefined>): SmtpConfig {
  accessSync(home, constants.X_OK);
  const c = new Control(home);
  const greeting = c.readline('smtpgreeting') ?? c.me();
  if (greeting === undefined) throw new NoGreeting();
  const lip = c.readline('localiphost') ?? c.me();
  let timeout = c.readint('timeoutsmtpd') ?? 1200;
  if (timeout <= 0) timeout = 1;
  const badmailfrom = new BadMailFrom(c.readfile('badmailfrom'));
  let databytes = c.readint('databytes') ?? 0;
  const x = env.DATABYTES;
  if (x !== undefined) databytes = scanUlong(x) ?? 0;
  // unsigned int in the original
  databytes = databytes % 2 ** 32;
  if (databytes === 2 ** 32 - 1) databytes--;
  const tlsPem = readOptional(c.path('servercert.pem'));
  const checkpassword = c.readline('checkpassword')?.split(/[ \t]+/).filter((w) => w !== '');
  const rcptcheck = c.readline('rcptcheck') !== undefined ? new RcptCheck(home, c) : undefined;
  // last: it keeps morercpthosts.cdb open (the caller closes it)
  const rcpthosts = RcptHosts.load(c);
  return {
    greeting,
    liphost: lip === undefined ? undefined : { host: lip, isMe: ipmeIs },
    timeout,
    rcpthosts,
    badmailfrom,
    databytes,
    remoteIp: env.TCPREMOTEIP ?? 'unknown',
    local: env.TCPLOCALHOST ?? env.TCPLOCALIP ?? 'unknown',
    remoteHost: env.TCPREMOTEHOST ?? 'unknown',
    remoteInfo: env.TCPREMOTEINFO,
    relayClient: env.RELAYCLIENT,
    tlsPem,
    checkpassword,
    rcptcheck,
    smtps: env.SMTPS !== undefined && env.SMTPS !== '',
  };
}
