/**
 * softlimit [-acdflmoprst value]... child: run child with lowered soft
 * resource limits (softlimit(8), daemontools 0.76; ../shared/FORMATS.md
 * section 12). -a AS, -c CORE, -d DATA, -f FSIZE, -l MEMLOCK, -m DATA STACK
 * MEMLOCK AS, -o NOFILE, -p NPROC, -r RSS, -s STACK, -t CPU (bytes, files,
 * processes, seconds). Value `=` sets the soft limit to the hard limit; a
 * value above the hard limit is clamped to it. Limits are computed as options
 * are read (later options win) and set just before child is exec'd (same pid,
 * pathexec.ts): Node could not run on under a small data limit.
 * Exit 100: usage (bad option, junk in a value, no child).
 * Exit 111: `softlimit: fatal: getrlimit failed: ...`, `setrlimit failed:
 * ...`, `unable to run CHILD: ...`.
 */
import type { Ctx } from '../src/lib/program.ts';
import { die, usage } from '../src/lib/strerr.ts';
import { sgetopt } from '../src/lib/sgetopt.ts';
import { LIMIT_FLAGS, applyLimits, parseLimit, softLimit, type SoftLimit } from '../src/lib/rlimit.ts';
import { prepareExec, runPrepared } from '../src/lib/pathexec.ts';

const USAGE =
  '[-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] [-l lockbytes] [-m membytes] [-o openfiles] [-p processes] [-r residentbytes] [-s stackbytes] [-t cpusecs] child';

export function main(ctx: Ctx): number {
  const { opts, rest, bad } = sgetopt(ctx.argv[0], ctx.argv.slice(1), 'a:c:d:f:l:m:o:p:r:s:t:');
  const limits: SoftLimit[] = [];
  for (const o of opts) {
    if (o.opt === '?') break;
    const v = parseLimit(o.arg!);
    if (v === undefined) usage('softlimit', USAGE);
    for (const res of LIMIT_FLAGS[o.opt]) {
      try {
        limits.push(softLimit(res, v));
      } catch (e) {
        die('softlimit', 111, 'getrlimit failed', e);
      }
    }
  }
  if (bad || rest.length === 0) usage('softlimit', USAGE);
  // limits go on last: under a low data limit Node cannot allocate any more
  const exec = prepareExec(rest, ctx.env);
  const prefix = `unable to run ${rest[0]}`;
  try {
    applyLimits(limits);
  } catch (e) {
    die('softlimit', 111, 'setrlimit failed', e);
  }
  try {
    runPrepared(exec);
  } catch (e) {
    die('softlimit', 111, prefix, e);
  }
}
