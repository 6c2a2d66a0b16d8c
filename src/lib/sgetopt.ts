/**
 * sgetopt: DJB's option parser (sgetopt.c/subgetopt.c in daemontools 0.76).
 * Options are single letters, clustered (`-ud`), a letter followed by `:` in the
 * spec takes an argument (rest of the word or the next word). Parsing stops at
 * the first word not starting with `-`, at `-` alone, and after `--`.
 * On a problem the original prints `ARGV0: illegal option -- X` or
 * `ARGV0: option requires an argument -- X` on stderr and returns '?', after
 * which every DJB program prints its usage line; parse() reports the same.
 */
import { errline } from './strerr.ts';

export interface Opt {
  /** the option letter, or '?' for a problem (already reported on stderr) */
  opt: string;
  /** the option's argument for letters declared with `:` */
  arg?: string;
}

export interface Parsed {
  opts: Opt[];
  /** the words after the options */
  rest: string[];
  /** true if a problem was reported (caller prints its usage and exits 100) */
  bad: boolean;
}

/**
 * Scan args (argv without argv[0]) against spec ("udopchaitkx", "c:x:"),
 * yielding each option as it is read; the generator's return value is the
 * index in args of the first word after the options. A letter followed by
 * `::` takes an optional argument attached to it (the rest of its word, never
 * the next word; sendmail's -E/-J). A problem is reported on stderr under
 * argv0 and yielded as '?'; an illegal letter ends the scan only with
 * stopOnProblem, a missing argument always ends it. A consumer may stop
 * early (as sendmail does at -b): nothing after that is read or reported.
 * `say` writes a problem's line (default: errline(), descriptor 2; a program
 * run in-process for a client passes its own).
 */
export function* scanOpts(argv0: string, args: string[], spec: string, stopOnProblem = true, say: (line: string) => void = errline): Generator<Opt, number> {
  let i = 0;
  outer: while (i < args.length) {
    const w = args[i];
    if (w.length < 2 || w[0] !== '-') break;
    if (w === '--') {
      i++;
      break;
    }
    for (let j = 1; j < w.length; j++) {
      const c = w[j];
      const k = c === ':' ? -1 : spec.indexOf(c);
      if (k < 0) {
        say(`${argv0}: illegal option -- ${c}`);
        if (stopOnProblem) {
          i++;
          yield { opt: '?' };
          break outer;
        }
        yield { opt: '?' };
        continue;
      }
      if (spec[k + 1] === ':' && spec[k + 2] === ':') {
        i++;
        yield j + 1 < w.length ? { opt: c, arg: w.slice(j + 1) } : { opt: c };
        continue outer;
      }
      if (spec[k + 1] === ':') {
        if (j + 1 < w.length) {
          i++;
          yield { opt: c, arg: w.slice(j + 1) };
          continue outer;
        }
        if (i + 1 < args.length) {
          i += 2;
          yield { opt: c, arg: args[i - 1] };
          continue outer;
        }
        say(`${argv0}: option requires an argument -- ${c}`);
        i++;
        yield { opt: '?' };
        break outer;
      }
      yield { opt: c };
    }
    i++;
  }
  return i;
}

/**
 * Parse args (argv without argv[0]) against spec ("udopchaitkx", "c:x:").
 * argv0 is the name the problems are reported under (the original uses argv[0]
 * as invoked). With stopOnProblem (the default), parsing ends at the first
 * problem as every DJB program then dies with its usage. `say` as scanOpts().
 */
export function sgetopt(argv0: string, args: string[], spec: string, stopOnProblem = true, say?: (line: string) => void): Parsed {
  const opts: Opt[] = [];
  const it = scanOpts(argv0, args, spec, stopOnProblem, say);
  let r = it.next();
  for (; !r.done; r = it.next()) opts.push(r.value);
  return { opts, rest: args.slice(r.value), bad: opts.some((o) => o.opt === '?') };
}
