/**
 * smtp/received: the Received field qmail-smtpd puts on top of every
 * message (qmail's received.c), with its `\n` line ends:
 *
 *   Received: from REMOTEHOST (HELO HELO) (INFO@REMOTEIP)
 *     by LOCAL with SMTP; 26 Sep 1995 04:46:54 -0000
 *
 * `(HELO ...)` only when the HELO/EHLO argument differs (ASCII case
 * ignored) from REMOTEHOST; `INFO@` only when TCPREMOTEINFO is set. Every
 * byte of the variable parts outside [A-Za-z0-9.@%+/=:\-\[\]] becomes `?`
 * (safeput), so nothing a client says can add header lines.
 */
import { date822fmt } from '../qmaildate.ts';

/** The parts of the line. Strings are latin1. */
export interface ReceivedFields {
  /** `SMTP` for qmail-smtpd */
  protocol: string;
  /** TCPLOCALHOST, else TCPLOCALIP, else `unknown` */
  local: string;
  /** TCPREMOTEIP, else `unknown` */
  remoteIp: string;
  /** TCPREMOTEHOST, else `unknown` */
  remoteHost: string;
  /** TCPREMOTEINFO when set */
  remoteInfo?: string;
  /** the HELO argument when it differs from remoteHost (fakehelo) */
  helo?: string;
  /** seconds since the epoch */
  when: number;
}

/** safeput: unsafe bytes become `?`. */
export function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9.@%+/=:\-[\]]/g, '?');
}

/** The Received field (two lines, each ending in `\n`). */
export function receivedField(f: ReceivedFields): string {
  let s = `Received: from ${safe(f.remoteHost)}`;
  if (f.helo !== undefined) s += ` (HELO ${safe(f.helo)})`;
  s += ' (';
  if (f.remoteInfo !== undefined) s += `${safe(f.remoteInfo)}@`;
  s += `${safe(f.remoteIp)})\n  by ${safe(f.local)} with ${f.protocol}; ${date822fmt(f.when)}\n`;
  return s;
}
