/**
 * rbl: rblsmtpd's decision and its SMTP conversation with a rejected client
 * (rblsmtpd(1), ucspi-tcp 0.88 with Debian's patch 0002: no default RBL;
 * ../shared/FORMATS.md section 10).
 *
 * decide(steps, env) runs the decision, first answer wins:
 *   1. $RBLSMTPD set: empty -> accept; `-text` -> permanent reject (553)
 *      with text; `text` -> temporary reject (451).
 *   2. the -r/-a steps in command-line order, each with the -b/-B and -c/-C
 *      flags in force when it was given:
 *      -r base: TXT of reversed TCPREMOTEIP + `.` + base; any text -> reject
 *      (553 with -b, else 451) with that text; a failed lookup marks "must
 *      not bounce" and with -c rejects (451 `temporary RBL lookup error`).
 *      -a base: A of the same name; an address -> accept; failure -> accept
 *      unless -c.
 *   3. nothing decided -> accept.
 * A permanent reject after any failed lookup becomes temporary.
 * The reversed name: `1.2.3.4` -> `4.3.2.1.base`, an empty or unset
 * TCPREMOTEIP -> `base`; an IPv6 TCPREMOTEIP (our extension) is reversed
 * nibble by nibble as in RFC 5782 (`...8.b.d.0.1.0.0.2.base`).
 *
 * rejectMessage(d): `451 ` or `553 ` + text cut to 200 bytes with every byte
 * outside 32..126 as `?` (no CRLF).
 *
 * converse(io, message, timeout): the conversation: greet `220
 * rblsmtpd.local`, then per line (up to LF, one trailing CR dropped, NUL ->
 * LF): QUIT -> `221 rblsmtpd.local` and end; HELO/EHLO/MAIL/RSET/NOOP
 * (verb = text before the first space, any case) -> `250 rblsmtpd.local`;
 * anything else -> the reject message. Ends silently at EOF or after
 * `timeout` seconds without input. Every answer ends in CRLF.
 */
import type { Readable, Writable } from 'node:stream';
import { isIPv6 } from 'node:net';
import { arpaName, ipsOf, txtOf } from './dns.ts';

export type Step = { kind: 'r' | 'a'; base: string; bounce: boolean; failClosed: boolean };

export type Decision = { accept: true } | { accept: false; permanent: boolean; text: string };

/** The name looked up for ip under base (see the module comment). */
export function rblName(ip: string, base: string): string {
  if (ip === '') return base;
  if (isIPv6(ip)) return arpaName(ip).replace(/ip6\.arpa$/, base);
  return ip.split('.').reverse().join('.') + '.' + base;
}

/** Run the decision (see the module comment). */
export async function decide(steps: readonly Step[], env: Record<string, string | undefined>): Promise<Decision> {
  const v = env.RBLSMTPD;
  if (v !== undefined) {
    if (v === '') return { accept: true };
    if (v.startsWith('-')) return { accept: false, permanent: true, text: v.slice(1) };
    return { accept: false, permanent: false, text: v };
  }
  const ip = env.TCPREMOTEIP ?? '';
  let mustNotBounce = false;
  const reject = (permanent: boolean, text: string): Decision => ({ accept: false, permanent: permanent && !mustNotBounce, text });
  for (const s of steps) {
    const name = rblName(ip, s.base);
    if (s.kind === 'r') {
      let text: string;
      try {
        text = await txtOf(env, name);
      } catch {
        mustNotBounce = true;
        if (s.failClosed) return reject(false, 'temporary RBL lookup error');
        continue;
      }
      if (text !== '') return reject(s.bounce, text);
    } else {
      try {
        if ((await ipsOf(env, name)).length > 0) return { accept: true };
      } catch {
        mustNotBounce = true;
        if (!s.failClosed) return { accept: true };
      }
    }
  }
  return { accept: true };
}

/** `451 text` / `553 text`, sanitised and cut (see the module comment). */
export function rejectMessage(d: { permanent: boolean; text: string }): string {
  const b = Buffer.from(d.text, 'latin1').subarray(0, 200);
  let t = '';
  for (const c of b) t += c < 32 || c > 126 ? '?' : String.fromCharCode(c);
  return (d.permanent ? '553 ' : '451 ') + t;
}

const OK_VERBS = new Set(['helo', 'ehlo', 'mail', 'rset', 'noop']);

/** The answer to one command line (without its LF), or undefined for QUIT's. */
export function answer(line: Buffer, message: string): string {
  let l = line;
  if (l.length > 0 && l[l.length - 1] === 0x0d) l = l.subarray(0, -1);
  const text = l.toString('latin1').replace(/\0/g, '\n');
  const sp = text.indexOf(' ');
  const verb = (sp < 0 ? text : text.slice(0, sp)).toLowerCase();
  if (verb === 'quit') return '221 rblsmtpd.local\r\n';
  if (OK_VERBS.has(verb)) return '250 rblsmtpd.local\r\n';
  return message + '\r\n';
}

function send(out: Writable, text: string): Promise<void> {
  return new Promise((resolve) => {
    out.write(Buffer.from(text, 'latin1'), () => resolve());
  });
}

/** Hold the conversation (see the module comment); resolves when it ends. */
export async function converse(input: Readable, output: Writable, message: string, timeout: number): Promise<void> {
  await send(output, '220 rblsmtpd.local\r\n');
  await new Promise<void>((resolve) => {
    let pending: Buffer = Buffer.alloc(0);
    let timer: NodeJS.Timeout | undefined;
    let writes: Promise<void> = Promise.resolve();
    const done = (): void => {
      if (timer) clearTimeout(timer);
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.removeListener('error', onEnd);
      input.removeListener('close', onEnd);
      input.pause();
      void writes.then(resolve);
    };
    const arm = (): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(done, timeout * 1000);
    };
    const onData = (chunk: Buffer): void => {
      arm();
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let nl: number;
      while ((nl = pending.indexOf(0x0a)) >= 0) {
        const line = pending.subarray(0, nl);
        pending = pending.subarray(nl + 1);
        const a = answer(line, message);
        writes = writes.then(() => send(output, a));
        if (a.startsWith('221 ')) return done();
      }
    };
    const onEnd = (): void => done();
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', onEnd);
    input.on('close', onEnd);
    arm();
  });
}
