/**
 * remote/blast: a message as qmail-remote sends it after DATA
 * (qmail-remote(8) "TRANSPARENCY"; qmail-remote.c blast()):
 *
 * - every LF ends a line and is sent as CR LF; a CR LF in the message stays
 *   CR LF; a CR followed by anything else is sent as CR LF and the byte
 *   after it starts the next line (a CR after such a CR is sent raw); a CR
 *   at the very end ends the last line;
 * - a line starting with `.` gets another `.` in front;
 * - the end is `.` CR LF.
 *
 * A message whose last line has no LF (and does not end in CR) cannot be
 * sent: `partial` is true and `data` holds what the original had written
 * before it noticed (its caller then drops the connection and reports a
 * permanent failure).
 *
 * Deviation: the original does not double a `.` that starts the line made
 * by a bare CR (`a\r.\n` would put `.` CR LF on the wire and end the data
 * early, truncating the message); we do.
 */

/** The DATA bytes for message m (see module comment). */
export function blast(m: Uint8Array): { data: Buffer; partial: boolean } {
  const out: Buffer[] = [];
  const CRLF = Buffer.from('\r\n');
  const DOT = Buffer.from('.');
  const n = m.length;
  let i = 0;
  let lineStart = true;
  while (i < n) {
    if (lineStart && m[i] === 0x2e) out.push(DOT);
    lineStart = false;
    // fast path: bytes up to the next CR or LF go out as they are
    let j = i;
    while (j < n && m[j] !== 0x0a && m[j] !== 0x0d) j++;
    if (j > i) out.push(Buffer.from(m.buffer, m.byteOffset + i, j - i));
    if (j >= n) return { data: Buffer.concat(out), partial: true };
    if (m[j] === 0x0a) {
      out.push(CRLF);
      i = j + 1;
      lineStart = true;
      continue;
    }
    // a CR
    if (j + 1 >= n) {
      out.push(CRLF);
      i = n;
      break;
    }
    const c = m[j + 1];
    if (c === 0x0a) {
      out.push(CRLF);
      i = j + 2;
      lineStart = true;
      continue;
    }
    out.push(CRLF);
    if (c === 0x2e) out.push(DOT);
    out.push(Buffer.from([c]));
    i = j + 2;
    if (i >= n) return { data: Buffer.concat(out), partial: true };
  }
  out.push(Buffer.from('.\r\n'));
  return { data: Buffer.concat(out), partial: false };
}
