/**
 * smtp/badmailfrom: qmail-smtpd's sender blacklist (qmail-smtpd(8)
 * "badmailfrom"): a sender is bad when its whole address, or `@host` (from
 * its last `@`), is a line of control/badmailfrom. Lines compare
 * ASCII-case-insensitively, as qmail's constmap does. No file: nobody is bad.
 */
import { asciiLower } from './rcpthosts.ts';

/** The badmailfrom list of one session. */
export class BadMailFrom {
  private readonly set: Set<string> | undefined;

  /** @param lines control/badmailfrom's value lines, or undefined when the file is missing */
  constructor(lines: string[] | undefined) {
    this.set = lines && new Set(lines.map(asciiLower));
  }

  /** True when the envelope sender addr (latin1) is listed (bmfcheck). */
  bad(addr: string): boolean {
    if (!this.set) return false;
    if (this.set.has(asciiLower(addr))) return true;
    const at = addr.lastIndexOf('@');
    return at >= 0 && this.set.has(asciiLower(addr.slice(at)));
  }
}
