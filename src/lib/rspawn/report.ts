/**
 * rspawn/report: qmail-rspawn's translation of one qmail-remote run into a
 * spawn-protocol report (qmail-rspawn(8); qmail-rspawn.c's report()).
 *
 * qmail-remote(8) writes, for its one recipient, a recipient report
 * `r`/`h`/`s` + text + `\0` (accepted / permanently / temporarily refused),
 * then a message report `K`/`Z`/`D` + text + `\0`; a problem before any
 * recipient (connection, HELO, MAIL) gives the message report alone. Its exit
 * code is 0 unless it could not run properly (111 temporary, else
 * permanent).
 *
 * Result: status `K` when the first K/Z/D report met is K, `Z` when it is Z,
 * else `D`; an `s` first byte forces Z and an `h` forces D. The text is the
 * first report's text, followed by the K/Z/D report's text when that one is
 * at least as bad and comes right after it. Fixed texts: a crash
 * `Zqmail-remote crashed.`, exit 111 `ZUnable to run qmail-remote.`, any other
 * non-zero exit `DUnable to run qmail-remote.`, no output `Zqmail-remote
 * produced no output.`. Strings are latin1.
 */

/** The report status letter and text for a qmail-remote run. */
export function remoteReport(exit: { code: number; crashed?: boolean }, out: Buffer): { status: string; text: string } {
  if (exit.crashed) return { status: 'Z', text: 'qmail-remote crashed.\n' };
  if (exit.code === 111) return { status: 'Z', text: 'Unable to run qmail-remote.\n' };
  if (exit.code !== 0) return { status: 'D', text: 'Unable to run qmail-remote.\n' };
  if (out.length === 0) return { status: 'Z', text: 'qmail-remote produced no output.\n' };
  let result = -1;
  for (let j = 0, k = 0; k < out.length; k++) {
    if (out[k] !== 0) continue;
    const c = out[j];
    if (c === 0x4b) {
      result = 1;
      break;
    }
    if (c === 0x5a) {
      result = 0;
      break;
    }
    if (c === 0x44) break;
    j = k + 1;
  }
  let orr = result;
  if (out[0] === 0x73) orr = 0;
  else if (out[0] === 0x68) orr = -1;
  const status = orr === 1 ? 'K' : orr === 0 ? 'Z' : 'D';
  // the C code prints strings up to their NUL: the tail of an unterminated report is dropped there too
  const cstr = (from: number): string => {
    const z = out.indexOf(0, from);
    return out.subarray(from, z < 0 ? out.length : z).toString('latin1');
  };
  let text = '';
  const z = out.indexOf(0, 1);
  if (z >= 0) {
    const k = z + 1;
    text = cstr(1);
    if (result <= orr && k < out.length && (out[k] === 0x5a || out[k] === 0x44 || out[k] === 0x4b)) text += cstr(k + 1);
  }
  return { status, text };
}
