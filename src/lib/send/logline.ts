/**
 * send/logline: qmail-send's log text (qmail-log(5); qsutil.c's logsafe):
 * untrusted text (addresses, delivery reports) is logged with each `\n`
 * turned into `/` and every other byte that is not printable ASCII 33..126,
 * or is `%`, turned into `_`. Strings are latin1 (one char a byte).
 */

/** logsafe(): s with newlines as `/`, unsafe bytes as `_`. */
export function logsafe(s: string): string {
  let out = '';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 33 && c <= 126 && c !== 37) continue;
    out += s.slice(start, i) + (c === 10 ? '/' : '_');
    start = i + 1;
  }
  return start === 0 ? s : out + s.slice(start);
}
