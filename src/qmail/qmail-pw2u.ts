/**
 * qmail-pw2u [ -/ohHuUC ] [ -cchar ]
 *
 * qmail-pw2u(8): read a V7 passwd file on fd 0, print qmail-users(5)
 * assignments on fd 1 (rules: src/lib/local/pw2u.ts), honouring
 * QMAILHOME/users/{include,exclude,mailnames,subusers,append}.
 * Exit 0; 100 for a bad option; 111 with `qmail-pw2u: fatal: unable to
 * chdir`, `unable to read input`, `unable to write output`, `unable to read
 * controls`, `unable to find alias user`, `unable to stat HOME`, `unable to
 * find USER user for subuser`.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Ctx } from '../lib/program.ts';
import { sgetopt } from '../lib/sgetopt.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { errline, writeAll } from '../lib/strerr.ts';
import { errCode } from '../lib/errstr.ts';
import { valueLines } from '../lib/control.ts';
import { fdChunks } from '../lib/fdio.ts';
import { pw2u, Pw2uError, type Pw2uOptions } from '../lib/local/pw2u.ts';

function fatal(text: string): number {
  errline(`qmail-pw2u: fatal: ${text}`);
  return 111;
}

/** users/NAME as latin1 text, undefined when missing; other errors throw. */
function optional(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch (e) {
    if (errCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

export function main(ctx: Ctx): number {
  const o: Pw2uOptions = { homeStrategy: 2, noUpper: true, brk: '-', dashcolon: '-:' };
  const p = sgetopt('qmail-pw2u', ctx.argv.slice(1), '/ohHuUc:C');
  if (p.bad) return 100;
  for (const x of p.opts) {
    if (x.opt === '/') o.dashcolon = '-/:';
    else if (x.opt === 'o') o.homeStrategy = 2;
    else if (x.opt === 'h') o.homeStrategy = 1;
    else if (x.opt === 'H') o.homeStrategy = 0;
    else if (x.opt === 'u') o.noUpper = false;
    else if (x.opt === 'U') o.noUpper = true;
    else if (x.opt === 'c') o.brk = Buffer.from(x.arg ?? '', 'utf8').toString('latin1').slice(0, 1);
    else if (x.opt === 'C') o.brk = '';
  }
  const home = qmailHome(ctx.env);
  try {
    if (!statSync(home).isDirectory()) return fatal('unable to chdir');
  } catch {
    return fatal('unable to chdir');
  }
  let files;
  try {
    const list = (n: string): string[] | undefined => {
      const t = optional(`${home}/users/${n}`);
      return t === undefined ? undefined : valueLines(t);
    };
    files = { include: list('include'), exclude: list('exclude'), mailnames: list('mailnames'), subusers: optional(`${home}/users/subusers`), append: optional(`${home}/users/append`) };
  } catch {
    return fatal('unable to read controls');
  }
  let input: string;
  try {
    input = Buffer.concat([...fdChunks(0)]).toString('latin1');
  } catch {
    return fatal('unable to read input');
  }
  let out: string;
  try {
    out = pw2u(input, o, files, (h) => {
      try {
        return statSync(Buffer.from(h, 'latin1')).uid;
      } catch (e) {
        return errCode(e) === 'ENOENT' ? 'ENOENT' : 'ERROR';
      }
    });
  } catch (e) {
    if (e instanceof Pw2uError) return fatal(e.message);
    throw e;
  }
  try {
    writeAll(1, Buffer.from(out, 'latin1'));
  } catch {
    return fatal('unable to write output');
  }
  return 0;
}
