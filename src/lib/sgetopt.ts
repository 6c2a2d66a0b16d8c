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
 * Parse args (argv without argv[0]) against spec ("udopchaitkx", "c:x:").
 * argv0 is the name the problems are reported under (the original uses argv[0]
 * as invoked). With stopOnProblem (the default), parsing ends at the first
 * problem as every DJB program then dies with its usage.
 */
export function sgetopt(argv0: string, args: string[], spec: string, stopOnProblem = true): Parsed {
  const opts: Opt[] = [];
  let i = 0;
  let bad = false;
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
        errline(`${argv0}: illegal option -- ${c}`);
        opts.push({ opt: '?' });
        bad = true;
        if (stopOnProblem) {
          i++;
          break outer;
        }
        continue;
      }
      if (spec[k + 1] === ':') {
        if (j + 1 < w.length) {
          opts.push({ opt: c, arg: w.slice(j + 1) });
          i++;
          continue outer;
        }
        if (i + 1 < args.length) {
          opts.push({ opt: c, arg: args[i + 1] });
          i += 2;
          continue outer;
        }
        errline(`${argv0}: option requires an argument -- ${c}`);
        opts.push({ opt: '?' });
        bad = true;
        i++;
        break outer;
      }
      opts.push({ opt: c });
    }
    i++;
  }
  return { opts, rest: args.slice(i), bad };
}
