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
 * Strings are latin1. The callbacks see each field with its continuation
 * lines and final `\n`, then done() once, then body lines in order.
 */
import { hfieldValid } from './hfield.ts';

/** What headerbody() calls. */
export interface HeaderBodySink {
  field(f: string): void;
  done(): void;
  body(line: string): void;
}

/** Feed text (latin1) through sink as described in the module comment. */
export function headerbody(text: string, sink: HeaderBodySink): void {
  let pos = 0;
  const next = (): string | undefined => {
    if (pos >= text.length) return undefined;
    const nl = text.indexOf('\n', pos);
    const line = nl < 0 ? text.slice(pos) + '\n' : text.slice(pos, nl + 1);
    pos = nl < 0 ? text.length : nl + 1;
    return line;
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
  if (pos < text.length) {
    const rest = text.slice(pos);
    sink.body(rest.endsWith('\n') ? rest : rest + '\n');
  }
}
