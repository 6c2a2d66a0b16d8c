/**
 * inject/headerbody: split a message into header fields and body the way
 * qmail-inject reads its input (qmail's headerbody.c):
 *
 * - lines end in `\n`; a last line without one gets one added;
 * - a line starting with SP or TAB continues the previous field;
 * - an empty line ends the header and is the body's first line;
 * - a line `From ...` in the header becomes the field `MBOX-Line: From ...`;
 * - the first line that is neither a valid field (hfield.ts) nor one of the
 *   above ends the header: the body then starts with an added empty line
 *   followed by that line (CRLF-terminated input therefore has no header);
 * - at end of input the header simply ends (no empty line is added).
 *
 * Header fields are handed over as latin1 strings (one char a byte), each
 * with its continuation lines and final `\n`; then done() once; then the
 * body in pieces: strings for the lines headerbody looked at, then the rest
 * of the input as bytes, untouched (never decoded, so a huge body costs no
 * conversion), with the missing final `\n` added when needed.
 */
import { hfieldValid } from './hfield.ts';

/** What headerbody() calls. */
export interface HeaderBodySink {
  field(f: string): void;
  done(): void;
  body(piece: string | Uint8Array): void;
}

/** Feed input through sink as described in the module comment. */
export function headerbody(input: Uint8Array, sink: HeaderBodySink): void {
  const n = input.length;
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  let pos = 0;
  const next = (): string | undefined => {
    if (pos >= n) return undefined;
    const nl = buf.indexOf(10, pos);
    const end = nl < 0 ? n : nl + 1;
    const line = buf.toString('latin1', pos, end);
    pos = end;
    return nl < 0 ? line + '\n' : line;
  };
  let line = '';
  let lineok = false;
  for (;;) {
    const nextline = next();
    if (nextline === undefined) {
      if (lineok) sink.field(line);
      sink.done();
      return;
    }
    if (lineok) {
      if (nextline[0] === ' ' || nextline[0] === '\t') {
        line += nextline;
        continue;
      }
      sink.field(line);
    }
    if (nextline.length === 1) {
      sink.done();
      sink.body(nextline);
      break;
    }
    if (nextline.startsWith('From ')) line = 'MBOX-Line: ' + nextline;
    else if (hfieldValid(nextline)) line = nextline;
    else {
      sink.done();
      sink.body('\n');
      sink.body(nextline);
      break;
    }
    lineok = true;
  }
  if (pos < n) {
    sink.body(buf.subarray(pos));
    if (buf[n - 1] !== 10) sink.body('\n');
  }
}
