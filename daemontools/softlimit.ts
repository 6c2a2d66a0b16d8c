/**
 * softlimit [-acdflmoprst value]... child: run child with lowered soft
 * resource limits (softlimit(8), daemontools 0.76; ../shared/FORMATS.md
 * section 12). -a AS, -c CORE, -d DATA, -f FSIZE, -l MEMLOCK, -m DATA STACK
 * MEMLOCK AS, -o NOFILE, -p NPROC, -r RSS, -s STACK, -t CPU (bytes, files,
 * processes, seconds). Value `=` sets the soft limit to the hard limit; a
 * value above the hard limit is clamped to it. Limits are set as options are
 * read, then child is exec'd (same pid, pathexec.ts).
 * Exit 100: usage (bad option, junk in a value, no child).
 * Exit 111: `softlimit: fatal: getrlimit failed: ...`, `setrlimit failed:
 * ...`, `unable to run CHILD: ...`.
 */
import type { Ctx } from '../src/lib/program.ts';
import { die, usage } from '../src/lib/strerr.ts';
import { sgetopt } from '../src/lib/sgetopt.ts';
import { LIMIT_FLAGS, lowerSoft, parseLimit } from '../src/lib/rlimit.ts';
import { execOrDie } from '../src/lib/pathexec.ts';

const USAGE =
  '[-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] [-l lockbytes] [-m membytes] [-o openfiles] [-p processes] [-r residentbytes] [-s stackbytes] [-t cpusecs] child';

export function main(ctx: Ctx): number {
  const { opts, rest, bad } = sgetopt(ctx.argv[0], ctx.argv.slice(1), 'a:c:d:f:l:m:o:p:r:s:t:');
  for (const o of opts) {
    if (o.opt === '?') break;
    const v = parseLimit(o.arg!);
    if (v === undefined) usage('softlimit', USAGE);
    for (const res of LIMIT_FLAGS[o.opt]) {
      try {
        lowerSoft(res, v);
      } catch (e) {
        die('softlimit', 111, (e as { stage?: string }).stage === 'get' ? 'getrlimit failed' : 'setrlimit failed', e);
      }
    }
  }
  if (bad || rest.length === 0) usage('softlimit', USAGE);
  return execOrDie('softlimit', rest, ctx.env);
}
