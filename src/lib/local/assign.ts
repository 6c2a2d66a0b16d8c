/**
 * local/assign: qmail-users(5)'s users/assign file turned into users/cdb
 * records, as qmail-newu(8) does it (read by users.ts).
 *
 * Lines up to the first line starting with `.` (a missing final dot line,
 * a line without `\n` before it, a NUL, a line without `:` or with an empty
 * first field, or fewer than six more colons -> AssignFormatError):
 *   `=local:user:uid:gid:homedir:dash:ext:`  key `!local\0` (ASCII lower-case)
 *   `+loc:user:uid:gid:homedir:dash:pre:`    key `!loc`, and loc's last
 *                                             character joins the wildcard set
 *   (any other first character is treated like `=`, as qmail-newu does)
 * The value is `user\0uid\0gid\0homedir\0dash\0ext` (the six fields after the
 * first colon, NUL-separated; anything after the sixth colon dropped). The
 * last record is `` -> the wildcard characters, in first-seen order.
 * Lines are bytes (latin1 strings); keys and values are Buffers.
 */
import { lowerAscii } from './lower.ts';

/** users/assign does not follow qmail-users(5). */
export class AssignFormatError extends Error {}

/** Records for users/cdb, in qmail-newu's order. Throws AssignFormatError. */
export function assignRecords(text: Buffer): Array<[Buffer, Buffer]> {
  const s = text.toString('latin1');
  const out: Array<[Buffer, Buffer]> = [];
  let wild = '';
  let pos = 0;
  for (;;) {
    if (pos < s.length && s[pos] === '.') break;
    const nl = s.indexOf('\n', pos);
    if (nl < 0) throw new AssignFormatError('bad format');
    const line = s.slice(pos, nl);
    pos = nl + 1;
    if (line.includes('\0')) throw new AssignFormatError('bad format');
    const i = line.indexOf(':');
    if (i <= 0) throw new AssignFormatError('bad format');
    let key: string;
    if (line[0] === '+') {
      key = '!' + lowerAscii(line.slice(1, i));
      if (i >= 2 && !wild.includes(line[i - 1])) wild += line[i - 1];
    } else key = lowerAscii('!' + line.slice(1, i) + '\0');
    const rest = line.slice(i + 1);
    const f = rest.split(':');
    if (f.length < 7) throw new AssignFormatError('bad format');
    out.push([Buffer.from(key, 'latin1'), Buffer.from(f.slice(0, 6).join('\0'), 'latin1')]);
  }
  out.push([Buffer.alloc(0), Buffer.from(wild, 'latin1')]);
  return out;
}
