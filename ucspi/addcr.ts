/**
 * addcr: copy stdin to stdout, turning every LF into CR LF (addcr(1),
 * ucspi-tcp 0.88; ../shared/FORMATS.md section 11). Arguments are ignored.
 * Exit 0 at end of input; 111 without a message if reading or writing fails
 * (as the original).
 */
import type { Ctx } from '../src/lib/program.ts';
import { addcr } from '../src/lib/crlf.ts';
import { filterFds } from '../src/lib/fdio.ts';

export function main(_ctx: Ctx): number {
  return filterFds(addcr);
}
