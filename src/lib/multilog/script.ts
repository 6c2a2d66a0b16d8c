/**
 * multilog/script: reads multilog's script (its arguments) into actions and
 * log-directory settings (multilog(8); ../shared/FORMATS.md section 5).
 *
 * Only the first character of an argument matters: `t` (timestamp, only as
 * the very first argument), `+pattern`, `-pattern`, `e`, `=file`, `sSIZE`,
 * `nNUM`, `!processor`, `./dir` or `/dir`; anything else is ignored.
 * `s` and `n` take DJB scan_ulong's leading digits (none = 0) and clamp:
 * 4096 <= SIZE <= 16777215 (default 99999), NUM >= 2 (default 10). They and
 * `!` apply to the directories that follow. Patterns are kept as bytes
 * (arguments are UTF-8 on the way in). Pure: no I/O, never fails.
 */

/** One step of the script, evaluated in order for every line. */
export type Action =
  | { kind: 'select'; pattern: Buffer }
  | { kind: 'deselect'; pattern: Buffer }
  | { kind: 'alert' }
  | { kind: 'status'; file: number }
  | { kind: 'dir'; dir: number };

/** Settings of one automatically rotated log directory. */
export interface DirSpec {
  /** the argument as given (used in messages, resolved against cwd) */
  path: string;
  /** maximum size of `current` in bytes */
  size: number;
  /** number of log files (old ones + current) */
  num: number;
  /** `/bin/sh -c` command run on each full `current`, if any */
  processor?: string;
}

/** Start-up work in script order: open a status file or a log directory. */
export type Target = { kind: 'status'; index: number } | { kind: 'dir'; index: number };

export interface Script {
  /** `t` was the first argument */
  timestamp: boolean;
  actions: Action[];
  dirs: DirSpec[];
  /** `=file` names, index = Action.file */
  files: string[];
  /** files and dirs in the order the script names them */
  targets: Target[];
  /** true when some `+`/`-` action exists (otherwise every line is selected everywhere) */
  selects: boolean;
}

export const DEFAULT_SIZE = 99999;
export const MIN_SIZE = 4096;
export const MAX_SIZE = 16777215;
export const DEFAULT_NUM = 10;
export const MIN_NUM = 2;

/** DJB scan_ulong: the value of the leading decimal digits (0 if none). */
function scanUlong(s: string): number {
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
  }
  return v;
}

/** Parse the arguments after argv[0]. */
export function parseScript(args: readonly string[]): Script {
  const sc: Script = { timestamp: args[0]?.[0] === 't', actions: [], dirs: [], files: [], targets: [], selects: false };
  let size = DEFAULT_SIZE;
  let num = DEFAULT_NUM;
  let processor: string | undefined;
  for (const arg of args) {
    switch (arg[0]) {
      case '+':
      case '-':
        sc.actions.push({ kind: arg[0] === '+' ? 'select' : 'deselect', pattern: Buffer.from(arg.slice(1)) });
        sc.selects = true;
        break;
      case 'e':
        sc.actions.push({ kind: 'alert' });
        break;
      case '=':
        sc.actions.push({ kind: 'status', file: sc.files.length });
        sc.targets.push({ kind: 'status', index: sc.files.length });
        sc.files.push(arg.slice(1));
        break;
      case 's':
        size = Math.min(MAX_SIZE, Math.max(MIN_SIZE, scanUlong(arg.slice(1))));
        break;
      case 'n':
        num = Math.max(MIN_NUM, scanUlong(arg.slice(1)));
        break;
      case '!':
        processor = arg.slice(1);
        break;
      case '.':
      case '/':
        sc.actions.push({ kind: 'dir', dir: sc.dirs.length });
        sc.targets.push({ kind: 'dir', index: sc.dirs.length });
        sc.dirs.push(processor === undefined ? { path: arg, size, num } : { path: arg, size, num, processor });
        break;
      default:
        break;
    }
  }
  return sc;
}
