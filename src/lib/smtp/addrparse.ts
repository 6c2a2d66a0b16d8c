/**
 * smtp/addrparse: the envelope address of a MAIL or RCPT argument, as
 * qmail-smtpd.c's addrparse() finds it (qmail-smtpd(8); RFC 5321 4.1.2 is
 * what clients should send, this is what qmail accepts):
 *
 * - With a `<`, the address starts after the first `<` and ends at the first
 *   unquoted `>` (or the end of the line). Without one ("partner should go
 *   read rfc 821") it starts after the first `:` and leading spaces and ends
 *   at the first unquoted space.
 * - A source route (`@a,@b:`) is skipped up to and including its `:`.
 * - Quotes are removed (they only protect the terminator), a backslash
 *   makes the next byte literal.
 * - localiphost: `box@[d.d.d.d]` where d.d.d.d is one of this host's IPv4
 *   addresses (ipme) becomes `box@LOCALIPHOST`.
 * - An address longer than 900 bytes is a syntax error (undefined).
 *
 * Strings are latin1 (one char per byte) and must not contain NUL (the
 * caller truncates the command line at NUL as the C string would end there).
 * Also: mailParams() finds an ESMTP `SIZE=n` parameter after the address.
 */

/** What addrparse needs to rewrite `[d.d.d.d]` (liphostok in the original). */
export interface LocalIpHost {
  /** control/localiphost (default control/me) */
  host: string;
  /** true when the dotted quad is one of this host's addresses (ipme_is) */
  isMe(ip: string): boolean;
}

/** Longest address accepted (bytes). */
export const MAX_ADDR = 900;

/** scan_ulong on a string: leading decimal digits, and how many there were. */
function scanUlong(s: string, at: number): [number, number] {
  let i = at;
  let v = 0;
  while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) {
    v = v * 10 + (s.charCodeAt(i) - 48);
    i++;
  }
  return [v, i - at];
}

/**
 * ip_scanbracket: `[d.d.d.d]` at the start of s: the normalised dotted quad
 * and the length consumed, or undefined. Each part is scan_ulong's value
 * truncated to a byte, as the C struct stores it.
 */
export function scanBracket(s: string): [string, number] | undefined {
  if (s[0] !== '[') return undefined;
  let at = 1;
  const parts: number[] = [];
  for (let k = 0; k < 4; k++) {
    if (k > 0) {
      if (s[at] !== '.') return undefined;
      at++;
    }
    const [v, n] = scanUlong(s, at);
    if (n === 0) return undefined;
    parts.push(v % 2 ** 32 & 255);
    at += n;
  }
  if (s[at] !== ']') return undefined;
  return [parts.join('.'), at + 1];
}

/** The address in arg (see the module comment), or undefined when longer than 900 bytes. */
export function addrparse(arg: string, liphost?: LocalIpHost): string | undefined {
  let terminator = '>';
  let i = arg.indexOf('<');
  let s: string;
  if (i >= 0) s = arg.slice(i + 1);
  else {
    terminator = ' ';
    i = arg.indexOf(':');
    s = i >= 0 ? arg.slice(i + 1) : '';
    let k = 0;
    while (s[k] === ' ') k++;
    s = s.slice(k);
  }
  if (s[0] === '@') {
    const c = s.indexOf(':');
    s = c >= 0 ? s.slice(c + 1) : '';
  }
  let addr = '';
  let esc = false;
  let quoted = false;
  for (let k = 0; k < s.length; k++) {
    const ch = s[k];
    if (esc) {
      addr += ch;
      esc = false;
      continue;
    }
    if (!quoted && ch === terminator) break;
    if (ch === '\\') esc = true;
    else if (ch === '"') quoted = !quoted;
    else addr += ch;
  }
  if (liphost) {
    const at = addr.lastIndexOf('@');
    if (at >= 0 && addr[at + 1] === '[') {
      const b = scanBracket(addr.slice(at + 1));
      if (b && at + 1 + b[1] === addr.length && liphost.isMe(b[0])) addr = addr.slice(0, at + 1) + liphost.host;
    }
  }
  // the C length counts the terminating NUL: addr.len > 900 means > 899 bytes
  if (addr.length + 1 > MAX_ADDR) return undefined;
  return addr;
}

/**
 * The SIZE=n parameter of a MAIL argument (RFC 1870), looked for after the
 * closing `>`; undefined when absent or not a number.
 */
export function mailSize(arg: string): number | undefined {
  const gt = arg.indexOf('>');
  if (gt < 0) return undefined;
  const m = /(?:^|\s)SIZE=([0-9]{1,15})(?:\s|$)/i.exec(arg.slice(gt + 1));
  return m ? Number(m[1]) : undefined;
}
