/**
 * smtp/replies: qmail-smtpd's reply texts, byte for byte as notqmail's
 * qmail-smtpd.c writes them (interface facts: clients, log scanners and
 * golden transcripts rely on them). Every reply is a complete line with its
 * CRLF. Replies that carry the greeting (220/221/250 to HELO/EHLO) are built
 * by the functions below; `databytes` > 0 adds the SIZE keyword (RFC 1870),
 * which the original does not advertise (see session.ts).
 */

/** Fixed replies (qmail-smtpd.c's err_* / die_* functions). */
export const R = {
  /** die_alarm: timeoutsmtpd seconds without input */
  timeout: '451 timeout (#4.4.2)\r\n',
  /** die_nomem: also our answer to a command line or envelope beyond the session limits */
  nomem: '421 out of memory (#4.3.0)\r\n',
  /** die_control: a control file could not be read */
  control: '421 unable to read controls (#4.3.0)\r\n',
  /** die_ipme */
  ipme: '421 unable to figure out my IP addresses (#4.3.0)\r\n',
  /** straynewline: a bare LF in DATA */
  straynewline: '451 See https://cr.yp.to/docs/smtplf.html.\r\n',
  bmf: '553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)\r\n',
  nogateway: "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)\r\n",
  unimpl: '502 unimplemented (#5.5.1)\r\n',
  syntax: '555 syntax error (#5.5.4)\r\n',
  wantmail: '503 MAIL first (#5.5.1)\r\n',
  wantrcpt: '503 RCPT first (#5.5.1)\r\n',
  ok: '250 ok\r\n',
  vrfy: "252 send some mail, i'll try my best\r\n",
  qqt: '451 qqt failure (#4.3.0)\r\n',
  help: '214 notqmail home page: https://notqmail.org\r\n',
  flushed: '250 flushed\r\n',
  goahead: '354 go ahead\r\n',
  hops: '554 too many hops, this message is looping (#5.4.6)\r\n',
  toobig: '552 sorry, that message size exceeds my databytes limit (#5.3.4)\r\n',
} as const;

/** `220 GREETING ESMTP` */
export function greet220(greeting: string): string {
  return `220 ${greeting} ESMTP\r\n`;
}

/** `221 GREETING` (QUIT) */
export function quit221(greeting: string): string {
  return `221 ${greeting}\r\n`;
}

/** `250 GREETING` (HELO) */
export function helo250(greeting: string): string {
  return `250 ${greeting}\r\n`;
}

/**
 * The EHLO reply: greeting, PIPELINING, 8BITMIME (the original's three
 * lines), plus `SIZE databytes` when a limit is set (databytes > 0), then
 * `extra` keywords (STARTTLS, AUTH: offered only when configured).
 */
export function ehlo250(greeting: string, databytes: number, extra: string[] = []): string {
  const keys = ['PIPELINING', '8BITMIME'];
  if (databytes > 0) keys.push(`SIZE ${databytes}`);
  keys.push(...extra);
  let s = `250-${greeting}\r\n`;
  for (let i = 0; i < keys.length; i++) s += `250${i === keys.length - 1 ? ' ' : '-'}${keys[i]}\r\n`;
  return s;
}

/** `250 ok TIME qp QP` (acceptmessage): TIME in seconds since the epoch, QP the queue process id. */
export function accepted(when: number, qp: number): string {
  return `250 ok ${Math.floor(when)} qp ${qp}\r\n`;
}

/**
 * The reply to a refused message from qmail_close()'s text (`Dtext` -> 554,
 * anything else -> 451; queue/qqcodes.ts).
 */
export function qqFailure(qqx: string): string {
  return `${qqx[0] === 'D' ? '554' : '451'} ${qqx.slice(1)}\r\n`;
}
