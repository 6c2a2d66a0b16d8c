/**
 * delcr: copy stdin to stdout, removing a CR that directly precedes an LF
 * (delcr(1), ucspi-tcp 0.88; ../shared/FORMATS.md section 11): `\r\n` ->
 * `\n`, `\r\r\n` -> `\r\n`, a CR at end of input is kept. Arguments are
 * ignored. Exit 0 at end of input; 111 without a message if reading or
 * writing fails (as the original).
 */
import type { Ctx } from '../src/lib/program.ts';
import { DelCr } from '../src/lib/crlf.ts';
import { filterFds } from '../src/lib/fdio.ts';

export function main(_ctx: Ctx): number {
  const d = new DelCr();
  return filterFds(
    (b) => d.push(b),
    () => d.end(),
  );
}
