/**
 * tcprules rules.cdb rules.tmp: compile the rules on stdin into rules.cdb
 * (tcprules(1), ucspi-tcp 0.88; ../shared/FORMATS.md section 7). Creates
 * rules.tmp, compiles stdin as it is read (1 MiB reads into one buffer;
 * src/lib/rules.ts RuleLines, whose fast path turns each read's lines into
 * cdb records in one loop) and writes the records of each read at once
 * (src/lib/cdb.ts CdbWriter.addRecords), then
 * finishes, fsyncs, closes and renames rules.tmp to rules.cdb, so tcpserver
 * sees the old or the new rules, never a mixture. The cdb is byte-identical
 * to Debian's tcprules for the same input (IPv6 lines are the one extension).
 * Input is read from fd 0 directly (a real process; never run in-process).
 *
 * Exit codes and messages (the original's):
 *   100 `tcprules: usage: tcprules rules.cdb rules.tmp` (fewer than 2 args)
 *   100 `tcprules: fatal: unable to parse this line: LINE` (rules.cdb untouched)
 *   111 `tcprules: fatal: unable to create TMP: ERR`
 *   111 `tcprules: fatal: unable to read input: ERR`
 *   111 `tcprules: fatal: unable to write to TMP: ERR`
 *   111 `tcprules: fatal: unable to move TMP to CDB: ERR`
 *   0   done.
 */
import { resolve } from 'node:path';
import type { Ctx } from '../src/lib/program.ts';
import { die, errline, Exit } from '../src/lib/strerr.ts';
import { CdbFile, CdbWriteError } from '../src/lib/cdb.ts';
import { RuleLines, RulesSyntaxError } from '../src/lib/rules.ts';
import { readInto } from '../src/lib/fdio.ts';

const FATAL = 'tcprules: fatal: ';

/** Marks an error raised while reading the input (not while writing). */
class ReadError {
  readonly error: unknown;
  constructor(error: unknown) {
    this.error = error;
  }
}

/** Bytes asked for per read of fd 0 (one buffer, reused for every read). */
const READ_SIZE = 1 << 20;

/** Compile all of fd 0 into lines, read errors wrapped in ReadError. */
function compileInput(lines: RuleLines): void {
  const buf = Buffer.allocUnsafe(READ_SIZE);
  for (;;) {
    let n: number;
    try {
      n = readInto(0, buf);
    } catch (e) {
      throw new ReadError(e);
    }
    if (n === 0) break;
    lines.push(buf.subarray(0, n));
  }
  lines.end();
}

/** tcprules' main: see the module comment for arguments, messages and exit codes. */
export function main(ctx: Ctx): number {
  const [, fn, fntemp] = ctx.argv;
  if (fn === undefined || fntemp === undefined) {
    errline('tcprules: usage: tcprules rules.cdb rules.tmp');
    throw new Exit(100);
  }
  let file: CdbFile;
  try {
    file = CdbFile.create(resolve(ctx.cwd, fntemp));
  } catch (e) {
    die('tcprules', 111, `unable to create ${fntemp}`, (e as CdbWriteError).error);
  }
  try {
    compileInput(new RuleLines(file));
    file.commit(resolve(ctx.cwd, fn));
  } catch (e) {
    file.abandon();
    if (e instanceof RulesSyntaxError) {
      errline(`${FATAL}unable to parse this line: ${e.line.toString('latin1')}`);
      throw new Exit(100);
    }
    if (e instanceof ReadError) die('tcprules', 111, 'unable to read input', e.error);
    if (e instanceof CdbWriteError) {
      if (e.stage === 'rename') die('tcprules', 111, `unable to move ${fntemp} to ${fn}`, e.error);
      die('tcprules', 111, `unable to write to ${fntemp}`, e.error);
    }
    throw e;
  }
  return 0;
}
