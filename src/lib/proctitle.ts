/**
 * proctitle: readproctitle(8)'s scrolling buffer (daemontools 0.76;
 * ../shared/FORMATS.md section 12). D is the last argument (normally dots):
 * each byte read shifts D left by one, keeping its first three bytes, and is
 * put at D's end; NUL bytes are skipped. Pure; no I/O.
 */

/** D and its shifting: the first three bytes stay, the rest scrolls left. */
export class ProcTitle {
  private readonly d: Buffer;
  constructor(d: Buffer) {
    this.d = Buffer.from(d);
  }
  /** Append bytes (NULs skipped), shifting the tail left by one per byte. */
  push(bytes: Uint8Array): void {
    const d = this.d;
    for (const c of bytes) {
      if (c === 0) continue;
      d.copy(d, 3, 4);
      d[d.length - 1] = c;
    }
  }
  text(): string {
    return this.d.toString('latin1');
  }
}
