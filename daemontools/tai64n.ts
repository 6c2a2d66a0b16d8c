/**
 * tai64n: put a TAI64N timestamp in front of every line (tai64n(8),
 * daemontools 0.76; ../shared/FORMATS.md section 1). Reads stdin, writes
 * `@` + 24 hex digits + space + the line to stdout. The label is the time at
 * which the line's first byte was read (nanoseconds = 1000 * usec + 500);
 * all lines starting in one read share the label of that read. Output is
 * flushed before every read. A last line without newline stays without one.
 * Arguments are ignored. Exit 0 at end of input; 111 silently on a read or
 * write error.
 */
import type { Ctx } from '../src/lib/program.ts';
import { stamper } from '../src/lib/stamp.ts';

export function main(ctx: Ctx): number {
  void ctx;
  return stamper(0, 1);
}
