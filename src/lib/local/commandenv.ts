/**
 * local/commandenv: the lines qmail-local adds to a message and the
 * environment it gives `|command` deliveries (qmail-command(8), "ENVIRONMENT
 * VARIABLES"; LWQ 4.1.4). Strings are latin1.
 *
 *   RECIPIENT  LOCAL@HOST            DTLINE  `Delivered-To: RECIPIENT\n`
 *   SENDER     the envelope sender   RPLINE  `Return-Path: <SENDER>\n` (quote2)
 *   USER HOME LOCAL HOST             UFLINE  `From SENDER Www Mon DD HH:MM:SS YYYY\n`
 *   EXT        the extension         EXT2/3/4  EXT after its first/second/third `-`
 *   HOST2/3/4  HOST without its last one/two/three dot-components
 * (newlines in DTLINE/RPLINE become `_`; in UFLINE the sender's spaces,
 * tabs and newlines become `-`, an empty sender is MAILER-DAEMON).
 * DEFAULT and NEWSENDER depend on the .qmail search and are added by
 * deliver.ts. `safeext` is the extension as .qmail file names use it:
 * ASCII lower-cased, `.` replaced by `:`.
 */
import { myctime } from '../qmaildate.ts';
import { lowerAscii } from './lower.ts';
import { quote2 } from './quote.ts';

/** Everything commandEnv computes. */
export interface DeliveryLines {
  dtline: string;
  rpline: string;
  ufline: string;
  safeext: string;
  env: Record<string, string>;
}

/** EXT after its first `-` (str_chr then skip it), '' when there is none. */
function afterDash(x: string): string {
  const i = x.indexOf('-');
  return i < 0 ? '' : x.slice(i + 1);
}

/** HOST cut before its last `.` within the first `n` chars (byte_rchr: n when none). */
function cutDot(host: string, n: number): number {
  if (n <= 0) return n;
  const i = host.lastIndexOf('.', n - 1);
  return i < 0 ? n : i;
}

/** Compute the lines and environment for one delivery starting at `starttime` (seconds). */
export function commandEnv(
  a: { user: string; homedir: string; local: string; ext: string; host: string; sender: string },
  starttime: number,
): DeliveryLines {
  const recipient = `${a.local}@${a.host}`;
  const dtline = `Delivered-To: ${recipient}`.replace(/\n/g, '_') + '\n';
  const rpline = `Return-Path: <${quote2(a.sender)}`.replace(/\n/g, '_') + '>\n';
  const ufline = `From ${a.sender === '' ? 'MAILER-DAEMON' : a.sender.replace(/[ \t\n]/g, '-')} ${myctime(starttime)}\n`;
  const ext2 = afterDash(a.ext);
  const ext3 = afterDash(ext2);
  const ext4 = afterDash(ext3);
  const h2 = cutDot(a.host, a.host.length);
  const h3 = cutDot(a.host, h2);
  const h4 = cutDot(a.host, h3);
  return {
    dtline,
    rpline,
    ufline,
    safeext: lowerAscii(a.ext).replace(/\./g, ':'),
    env: {
      HOST: a.host,
      HOME: a.homedir,
      USER: a.user,
      LOCAL: a.local,
      RECIPIENT: recipient,
      DTLINE: dtline,
      SENDER: a.sender,
      RPLINE: rpline,
      UFLINE: ufline,
      EXT: a.ext,
      EXT2: ext2,
      EXT3: ext3,
      EXT4: ext4,
      HOST2: a.host.slice(0, h2),
      HOST3: a.host.slice(0, h3),
      HOST4: a.host.slice(0, h4),
    },
  };
}
