/**
 * crlf: the line-ending transforms of ucspi-tcp's small filters
 * (addcr(1), delcr(1), fixcrio(1); ../shared/FORMATS.md section 11) and
 * recordio's log format (recordio(1)). Pure functions and small state
 * machines over Buffers, so a stream split anywhere gives the same bytes.
 *
 *   addcr(chunk)          every LF becomes CR LF (stateless, as addcr)
 *   new DelCr()           .push(chunk) / .end(): a CR directly before an LF is
 *                         dropped; other CRs (also one at end of input) stay
 *   new FixCr()           .push(chunk): a CR is inserted before every LF not
 *                         already preceded by CR (state: last byte was CR)
 *   recordLines(pid, dir, chunk)   recordio's log text for one read
 *   recordEof(pid, dir)            `PID < [EOF]` / `PID > [EOF]`
 */

const CR = 0x0d;
const LF = 0x0a;

/** addcr: LF -> CR LF for every LF. */
export function addcr(chunk: Buffer): Buffer {
  let count = 0;
  for (let i = chunk.indexOf(LF); i >= 0; i = chunk.indexOf(LF, i + 1)) count++;
  if (count === 0) return chunk;
  const out = Buffer.allocUnsafe(chunk.length + count);
  let o = 0;
  let from = 0;
  for (let i = chunk.indexOf(LF); i >= 0; i = chunk.indexOf(LF, i + 1)) {
    o += chunk.copy(out, o, from, i);
    out[o++] = CR;
    out[o++] = LF;
    from = i + 1;
  }
  chunk.copy(out, o, from);
  return out;
}

/** delcr's state machine: a CR is held back until the next byte shows whether an LF follows. */
export class DelCr {
  private pendingCr = false;

  /** The output for the next piece of input. */
  push(chunk: Buffer): Buffer {
    const out = Buffer.allocUnsafe(chunk.length + 1);
    let o = 0;
    for (const c of chunk) {
      if (c === CR) {
        if (this.pendingCr) out[o++] = CR;
        this.pendingCr = true;
        continue;
      }
      if (this.pendingCr && c !== LF) out[o++] = CR;
      this.pendingCr = false;
      out[o++] = c;
    }
    return out.subarray(0, o);
  }

  /** The output at end of input: a held-back CR. */
  end(): Buffer {
    const out = this.pendingCr ? Buffer.from([CR]) : Buffer.alloc(0);
    this.pendingCr = false;
    return out;
  }
}

/** fixcrio's per-direction state machine: CR inserted before a bare LF. */
export class FixCr {
  private lastCr = false;

  /** The output for the next piece of input. */
  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    const out = Buffer.allocUnsafe(chunk.length * 2);
    let o = 0;
    for (const c of chunk) {
      if (c === LF && !this.lastCr) out[o++] = CR;
      out[o++] = c;
      this.lastCr = c === CR;
    }
    return out.subarray(0, o);
  }
}

/**
 * recordio's log for one chunk read in direction dir (`<` = from the client
 * to the program, `>` = from the program): each complete line as
 * `PID < text \n` (a space before the newline), a final piece without
 * newline as `PID < text+\n`.
 */
export function recordLines(pid: number, dir: '<' | '>', chunk: Buffer): Buffer {
  const head = Buffer.from(`${pid} ${dir} `);
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = chunk.indexOf(LF); i >= 0; i = chunk.indexOf(LF, from)) {
    parts.push(head, chunk.subarray(from, i), Buffer.from(' \n'));
    from = i + 1;
  }
  if (from < chunk.length) parts.push(head, chunk.subarray(from), Buffer.from('+\n'));
  return Buffer.concat(parts);
}

/** recordio's end-of-file line for direction dir. */
export function recordEof(pid: number, dir: '<' | '>'): Buffer {
  return Buffer.from(`${pid} ${dir} [EOF]\n`);
}
