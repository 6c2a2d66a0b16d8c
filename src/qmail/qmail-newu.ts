/**
 * qmail-newu: compile QMAILHOME/users/assign into QMAILHOME/users/cdb
 * (qmail-newu(8), format in qmail-users(5); records: src/lib/local/assign.ts).
 * Written to users/cdb.tmp (umask 033, fsync) and renamed over users/cdb,
 * so qmail-lspawn sees the old or the new table, never a part.
 * Messages, all exit 111: `qmail-newu: fatal: unable to chdir`, `unable to
 * open users/assign`, `unable to read users/assign`, `bad format in
 * users/assign`, `unable to open users/cdb.tmp`, `unable to write
 * users/cdb.tmp`, `unable to move users/cdb.tmp to users/cdb`.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Ctx } from '../lib/program.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { errline } from '../lib/strerr.ts';
import { CdbFile, CdbWriteError } from '../lib/cdb.ts';
import { AssignFormatError, assignRecords } from '../lib/local/assign.ts';

function fatal(text: string): number {
  errline(`qmail-newu: fatal: ${text}`);
  return 111;
}

export function main(ctx: Ctx): number {
  const home = qmailHome(ctx.env);
  process.umask(0o033);
  try {
    if (!statSync(home).isDirectory()) return fatal('unable to chdir');
  } catch {
    return fatal('unable to chdir');
  }
  let text: Buffer;
  try {
    text = readFileSync(`${home}/users/assign`);
  } catch (e) {
    return fatal((e as NodeJS.ErrnoException).code === 'EISDIR' ? 'unable to read users/assign' : 'unable to open users/assign');
  }
  let records;
  try {
    records = assignRecords(text);
  } catch (e) {
    if (e instanceof AssignFormatError) return fatal('bad format in users/assign');
    throw e;
  }
  try {
    const f = CdbFile.create(`${home}/users/cdb.tmp`);
    try {
      for (const [k, d] of records) f.add(k, d);
    } catch (e) {
      f.abandon();
      throw e;
    }
    f.commit(`${home}/users/cdb`);
  } catch (e) {
    if (e instanceof CdbWriteError) {
      if (e.stage === 'create') return fatal('unable to open users/cdb.tmp');
      if (e.stage === 'rename') return fatal('unable to move users/cdb.tmp to users/cdb');
      return fatal('unable to write users/cdb.tmp');
    }
    throw e;
  }
  return 0;
}
