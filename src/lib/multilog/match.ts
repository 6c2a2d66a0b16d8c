/**
 * multilog/match: daemontools' line patterns (multilog(8) "SELECTING LINES";
 * ../shared/FORMATS.md section 5, match.c).
 *
 * A pattern byte other than `*` must equal the next line byte. `*` followed
 * by a byte c skips the line up to the *first* c (not consuming it); there is
 * no backtracking, so `*b` after a skip that found the wrong `b` fails. A
 * trailing `*` matches the rest. The whole line must be consumed.
 */

/**
 * True if pattern matches line[start, end). Both are raw bytes; pattern
 * bytes are the argument after its `+`/`-`.
 */
export function match(pattern: Uint8Array, line: Uint8Array, start: number, end: number): boolean {
  let i = 0;
  let j = start;
  const plen = pattern.length;
  for (;;) {
    if (i === plen) return j === end;
    const ch = pattern[i++];
    if (ch === 42) {
      if (i === plen) return true;
      const next = pattern[i];
      for (;;) {
        if (j === end) return false;
        if (line[j] === next) break;
        j++;
      }
      continue;
    }
    if (j === end || line[j] !== ch) return false;
    j++;
  }
}
