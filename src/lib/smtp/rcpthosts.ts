/**
 * smtp/rcpthosts: which recipient domains qmail-smtpd accepts without
 * RELAYCLIENT (qmail-smtpd(8) "rcpthosts", "morercpthosts"; qmail's
 * rcpthosts.c semantics):
 *
 * - No control/rcpthosts: every recipient is allowed (and
 *   morercpthosts.cdb is not consulted).
 * - Otherwise the domain after the last `@` is lowercased and looked up, and
 *   so is every suffix starting at a `.` (`a.b.example` tries `a.b.example`,
 *   `.b.example`, `.example`): an entry `example.com` allows exactly that
 *   host, `.example.com` every host below it. rcpthosts lines compare
 *   ASCII-case-insensitively (constmap); the same keys are then looked up in
 *   control/morercpthosts.cdb (qmail-newmrh writes them lowercased).
 * - An address without `@` is always allowed.
 *
 * Errors: loading throws the read error of rcpthosts or the open error of
 * morercpthosts.cdb other than ENOENT; allowed() throws when the cdb is
 * unreadable or corrupt. The caller says `421 unable to read controls`.
 */
import { Cdb } from '../cdb.ts';
import { errCode } from '../errstr.ts';
import type { Control } from '../control.ts';

/** ASCII lowercase (case_lowerb), bytes >= 128 untouched. */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** The rcpthosts policy of one qmail home (load once per session, like the original). */
export class RcptHosts {
  private readonly hosts: Set<string> | undefined;
  private readonly more: Cdb | undefined;

  private constructor(hosts: Set<string> | undefined, more: Cdb | undefined) {
    this.hosts = hosts;
    this.more = more;
  }

  /**
   * Read control/rcpthosts and open control/morercpthosts.cdb (see the module
   * comment). The cdb is read by pread, not loaded (it may be large): call
   * close() when the session ends.
   */
  static load(control: Control): RcptHosts {
    return RcptHosts.withCdb(RcptHosts.hostSet(control.readfile('rcpthosts')), control);
  }

  /** control/rcpthosts' value lines (undefined: no file) as the lowercased set withCdb takes. */
  static hostSet(lines: string[] | undefined): Set<string> | undefined {
    return lines && new Set(lines.map(asciiLower));
  }

  /**
   * A policy from an already read rcpthosts set (hostSet; never modified),
   * opening control/morercpthosts.cdb when there is a set (see load()) and
   * the caller does not know it to be absent (`moreAbsent`).
   */
  static withCdb(hosts: Set<string> | undefined, control: Control, moreAbsent = false): RcptHosts {
    if (hosts === undefined) return new RcptHosts(undefined, undefined);
    let more: Cdb | undefined;
    if (!moreAbsent) {
      try {
        more = Cdb.open(control.path('morercpthosts.cdb'));
      } catch (e) {
        if (errCode(e) !== 'ENOENT') throw e;
      }
    }
    return new RcptHosts(hosts, more);
  }

  /** A policy from a list of lines (tests; no cdb). */
  static fromLines(lines: string[] | undefined): RcptHosts {
    return new RcptHosts(RcptHosts.hostSet(lines), undefined);
  }

  /** Release morercpthosts.cdb's descriptor. */
  close(): void {
    this.more?.close();
  }

  /** True when addr (latin1) may be a recipient without RELAYCLIENT. Throws on a bad cdb. */
  allowed(addr: string): boolean {
    if (!this.hosts) return true;
    const at = addr.lastIndexOf('@');
    if (at < 0) return true;
    const host = asciiLower(addr.slice(at + 1));
    const keys: string[] = [];
    for (let j = 0; j < host.length; j++) if (j === 0 || host[j] === '.') keys.push(host.slice(j));
    for (const k of keys) if (this.hosts.has(k)) return true;
    if (this.more) for (const k of keys) if (this.more.get(Buffer.from(k, 'latin1')) !== undefined) return true;
    return false;
  }
}
