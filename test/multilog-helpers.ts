/**
 * Helpers for the multilog tests: run our multilog and Debian's on the same
 * regular-file input in twin directories, and describe a log directory with
 * TAI64N labels normalised (file names reduced to their order and suffix,
 * `@<24 hex>` at line starts replaced by `@T`).
 */
import { closeSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { execa } from 'execa';
import { fdStdin, ours, theirs, prng } from './helpers.ts';

export const debian = theirs('multilog');

/** Replace TAI64N labels at line starts. */
export function unlabel(s: string): string {
  return s.replace(/^@[0-9a-f]{24}/gm, '@T');
}

/** A directory's files (sorted) as [name, mode, content]; `@` names become `@.s`/`@.u`. */
export function describe(dir: string): Array<[string, string, string]> {
  return readdirSync(dir)
    .sort()
    .map((f) => {
      const st = statSync(`${dir}/${f}`);
      const name = f[0] === '@' ? `@${f.slice(25)}` : f;
      const body = st.isFile() ? unlabel(readFileSync(`${dir}/${f}`, 'latin1')) : '<dir>';
      return [name, (st.mode & 0o777).toString(8), body];
    });
}

export interface Outcome {
  exitCode: number | undefined;
  stderr: string;
  /** files of the working directory, log directories described */
  files: Record<string, unknown>;
}

/** Run prog with script in cwd on input (a regular file); describe everything left in cwd. */
export async function runIn(prog: string, cwd: string, script: string[], input: Buffer | string): Promise<Outcome> {
  mkdirSync(cwd, { recursive: true });
  writeFileSync(`${cwd}/.input`, input);
  const fd = openSync(`${cwd}/.input`, 'r'); // a regular file on fd 0, not a pipe
  const r = await execa(prog, script, { cwd, stdin: fdStdin(fd), reject: false, stripFinalNewline: false }).finally(() => closeSync(fd));
  return { exitCode: r.exitCode, stderr: unlabel(String(r.stderr).replace(/^\S*multilog:/gm, 'multilog:')), files: snapshot(cwd) };
}

/** Everything in cwd except the input: dirs described, files unlabelled. */
export function snapshot(cwd: string): Record<string, unknown> {
  const files: Record<string, unknown> = {};
  for (const f of readdirSync(cwd).sort()) {
    if (f === '.input') continue;
    const st = statSync(`${cwd}/${f}`);
    files[f] = st.isDirectory() ? describe(`${cwd}/${f}`) : unlabel(readFileSync(`${cwd}/${f}`, 'latin1'));
  }
  return files;
}

/** Run ours and Debian's (in base/ours and base/theirs) and return both outcomes. */
export async function both(base: string, script: string[], input: Buffer | string): Promise<[Outcome, Outcome]> {
  return Promise.all([runIn(ours('multilog'), `${base}/ours`, script, input), runIn(debian!, `${base}/theirs`, script, input)]);
}

/** Random log input: short lines, empty lines, lines around and far beyond 1000 bytes, maybe a partial last line. */
export function randomInput(seed: number): Buffer {
  const rnd = prng(seed);
  const alphabet = Buffer.from('abcxyz fatal:[]*0123\t\0');
  const parts: Buffer[] = [];
  const n = 1 + Math.floor(rnd() * 300);
  for (let i = 0; i < n; i++) {
    const r = rnd();
    const len =
      r < 0.05 ? 900 + Math.floor(rnd() * 2100) : r < 0.08 ? 3000 + Math.floor(rnd() * 17000) : r < 0.15 ? 0 : 1 + Math.floor(rnd() * 120);
    const b = Buffer.allocUnsafe(len + 1);
    for (let j = 0; j < len; j++) b[j] = alphabet[Math.floor(rnd() * alphabet.length)];
    b[len] = 10;
    parts.push(b);
  }
  if (rnd() < 0.5) parts.push(Buffer.from('partial'.repeat(1 + Math.floor(rnd() * 300))));
  return Buffer.concat(parts);
}
