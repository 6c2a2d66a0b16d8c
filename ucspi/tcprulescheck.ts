/**
 * tcprulescheck rules.cdb: show which rule tcpserver would apply
 * (tcprulescheck(1), ucspi-tcp 0.88; ../shared/FORMATS.md section 7) to a
 * connection described by $TCPREMOTEIP (default 0.0.0.0), $TCPREMOTEHOST and
 * $TCPREMOTEINFO (each taking part when set, even if empty), using the lookup
 * order of src/lib/rules.ts.
 *
 * Output on stdout: `rule KEY:` for a hit (`default:` for none), then for
 * each item of the rule's value: `deny connection` (and stop) for `D`,
 * `set environment variable NAME=value` for `+NAME=value`; finally
 * `allow connection`. Exit 0.
 * Errors: 100 `tcprulescheck: usage: tcprulescheck rules.cdb`;
 * 111 `tcprulescheck: fatal: unable to read FILE: ERR` (missing file,
 * corrupt cdb = "protocol error", ...).
 */
import { resolve } from 'node:path';
import type { Ctx } from '../src/lib/program.ts';
import { die, errline, Exit } from '../src/lib/strerr.ts';
import { Cdb } from '../src/lib/cdb.ts';
import { ruleReport, rulesLookup, type RuleHit } from '../src/lib/rules.ts';

export async function main(ctx: Ctx): Promise<number> {
  const fn = ctx.argv[1];
  if (fn === undefined) {
    errline('tcprulescheck: usage: tcprulescheck rules.cdb');
    throw new Exit(100);
  }
  const ip = ctx.env.TCPREMOTEIP ?? '0.0.0.0';
  let hit: RuleHit | undefined;
  try {
    const db = Cdb.open(resolve(ctx.cwd, fn));
    try {
      hit = rulesLookup(db, ip, ctx.env.TCPREMOTEHOST, ctx.env.TCPREMOTEINFO);
    } finally {
      db.close();
    }
  } catch (e) {
    die('tcprulescheck', 111, `unable to read ${fn}`, e);
  }
  const report = ruleReport(hit);
  await new Promise<void>((res, rej) => ctx.stdout.write(report, (err) => (err ? rej(err) : res())));
  return 0;
}
