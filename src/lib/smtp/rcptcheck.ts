/**
 * smtp/rcptcheck: recipient validation at RCPT, not in the original (qmail
 * accepts every recipient in rcpthosts and bounces later). Off unless
 * control/rcptcheck exists; then a recipient is refused with
 * `550 sorry, no mailbox here by that name (#5.1.1)` when the local
 * delivery would bounce it with qmail-local's "Sorry, no mailbox here by
 * that name. (#5.1.1)". The answer follows the delivery path:
 *
 * 1. qmail-send's routing: no `@` -> `@envnoathost`; a domain in
 *    control/locals (default me) is local with the whole local part; else
 *    control/virtualdomains (`user@domain`, `domain`, `.suffix`, `` keys,
 *    ASCII case ignored) with a non-empty prefix makes local
 *    `prefix-localpart`; anything else is remote and accepted (percenthack
 *    is not applied).
 * 2. qmail-lspawn: users/cdb, else qmail-getpw's rules (local/users.ts);
 *    no account and no alias user -> refused.
 * 3. qmail-local: an address with an extension needs `.qmail-ext` or a
 *    `-default` file up the cascade in that home (local/dotqmail.ts); the
 *    account's own address (no extension) is always deliverable.
 *
 * Anything that cannot be decided (a temporary error, a file qmaild may not
 * read) accepts the recipient: qmail's own later decision stands.
 */
import { Control } from '../control.ts';
import { UserDb } from '../local/users.ts';
import { QlxError } from '../local/getpw.ts';
import { qmeSearch } from '../local/dotqmail.ts';
import { lowerAscii } from '../local/lower.ts';
import { QLX } from '../spawn/protocol.ts';

/** The refusal. */
export const NO_MAILBOX = '550 sorry, no mailbox here by that name (#5.1.1)\r\n';

/** Recipient validation for one qmail home (see the module comment). */
export class RcptCheck {
  private readonly locals: Set<string>;
  private readonly vdoms: Map<string, string>;
  private readonly envnoathost: string;
  private readonly users: UserDb;

  /** Reads locals, virtualdomains, envnoathost; throws on unreadable controls. */
  constructor(home: string, control = new Control(home)) {
    this.locals = new Set(control.list('locals').map(lowerAscii));
    this.vdoms = new Map();
    for (const l of control.list('virtualdomains')) {
      const c = l.indexOf(':');
      if (c < 0) continue;
      const k = lowerAscii(l.slice(0, c));
      if (!this.vdoms.has(k)) this.vdoms.set(k, l.slice(c + 1));
    }
    this.envnoathost = control.line('envnoathost');
    this.users = new UserDb(home);
  }

  /** The local part qmail-lspawn would get for addr, or undefined when the address is remote. */
  localPart(addr: string): string | undefined {
    const full = addr.includes('@') ? addr : `${addr}@${this.envnoathost}`;
    const at = full.lastIndexOf('@');
    if (this.locals.has(lowerAscii(full.slice(at + 1)))) return full.slice(0, at);
    const lower = lowerAscii(full);
    for (let i = 0; i <= full.length; i++) {
      if (i === 0 || i === at + 1 || i === full.length || (i > at && full[i] === '.')) {
        const prefix = this.vdoms.get(lower.slice(i));
        if (prefix === undefined) continue;
        if (prefix === '') return undefined;
        return `${prefix}-${full.slice(0, at)}`;
      }
    }
    return undefined;
  }

  /** False only when delivery would certainly find no mailbox for addr. */
  deliverable(addr: string): boolean {
    const local = this.localPart(addr);
    if (local === undefined) return true;
    let n;
    try {
      n = this.users.lookup(local);
    } catch (e) {
      return !(e instanceof QlxError && e.code === QLX.NOALIAS);
    }
    if (n.dash === '') return true;
    try {
      return qmeSearch(n.home, n.dash, lowerAscii(n.ext).replace(/\./g, ':'), n.ext, 0).exists;
    } catch {
      return true;
    }
  }
}
