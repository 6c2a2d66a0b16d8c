/**
 * remote/routes: qmail-remote's artificial SMTP routes, control/smtproutes
 * (qmail-remote(8) "smtproutes"; qmail-control(5)).
 *
 * Each line is `domain:relay` or `domain:relay:port`; lines without a colon
 * are ignored. For a host `a.b.c` the keys tried are `a.b.c`, `.b.c`, `.c`
 * and finally the empty key (a `:relay` default line); the first key found
 * wins. Keys compare ASCII-case-insensitively and, as qmail's constmap does,
 * a later line for the same key overrides an earlier one. An empty relay
 * (`.af.mil:`) means "look up MX records as usual": no route. A port after
 * the relay's first colon replaces 25 (its leading digits, scan_ulong; none
 * gives 0, as the original).
 */

/** An artificial route: connect to relay (a name or `[1.2.3.4]`), port. */
export interface Route {
  relay: string;
  /** the port given after the relay, or undefined for 25 */
  port?: number;
}

/** The route table of one smtproutes file (constmap semantics, see module comment). */
export class Routes {
  private readonly map = new Map<string, string>();

  /** @param lines control/smtproutes' value lines (Control.readfile), or [] when missing */
  constructor(lines: string[]) {
    for (const l of lines) {
      const k = l.indexOf(':');
      if (k < 0) continue;
      this.map.set(asciiLower(l.slice(0, k)), l.slice(k + 1));
    }
  }

  /** The route for host, or undefined when it is delivered by MX (no entry, or an empty relay). */
  lookup(host: string): Route | undefined {
    const h = asciiLower(host);
    let relay: string | undefined;
    for (let i = 0; i <= h.length; i++) {
      if (i === 0 || i === h.length || h[i] === '.') {
        relay = this.map.get(h.slice(i));
        if (relay !== undefined) break;
      }
    }
    if (relay === undefined || relay === '') return undefined;
    const c = relay.indexOf(':');
    if (c < 0) return { relay };
    const m = /^[0-9]+/.exec(relay.slice(c + 1));
    return { relay: relay.slice(0, c), port: m ? Number(m[0]) % 65536 : 0 };
  }
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}
