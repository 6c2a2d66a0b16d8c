/**
 * smtp/auth: SMTP AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN
 * mechanisms, checked through DJB's checkpassword interface, as the widely
 * used qmail-smtpd AUTH patches do. Not in the original: qmail-smtpd offers
 * it only when control/checkpassword names a program (see config.ts).
 *
 * checkpassword(PROG...): the program runs (a real fork/exec) with
 * `user\0password\0timestamp\0` on descriptor 3 (then EOF), no stdin or
 * stdout, stderr inherited; exit 0 = accepted (it normally execs its
 * argument, e.g. /bin/true), 111 = temporary failure, anything else = bad.
 * The timestamp is `<PID.TIME@HOST>` as the patches build it.
 *
 * Also the SASL decoding: decodePlain() and base64 checks. Replies are the
 * texts those patches use (AUTH_R below).
 */
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';

/** Replies of the AUTH extension. */
export const AUTH_R = {
  ok: '235 ok, go ahead (#2.0.0)\r\n',
  failed: '535 authorization failed (#5.7.0)\r\n',
  temp: '454 temporary authentication failure (#4.3.0)\r\n',
  already: "503 you're already authenticated (#5.5.0)\r\n",
  notInMail: '503 no auth during mail transaction (#5.5.0)\r\n',
  mechanism: '504 auth type unimplemented (#5.5.1)\r\n',
  malformed: '501 malformed auth input (#5.5.4)\r\n',
  cancelled: '501 auth exchange cancelled (#5.0.0)\r\n',
  username: '334 VXNlcm5hbWU6\r\n',
  password: '334 UGFzc3dvcmQ6\r\n',
  empty: '334 \r\n',
} as const;

/** What the checkpassword program said. */
export type AuthVerdict = 'ok' | 'bad' | 'temp';

/** A SASL response line: `*` cancels, `=` is empty, else strict base64 (undefined when not). */
export function decodeResponse(line: string): Buffer | 'cancel' | undefined {
  if (line === '*') return 'cancel';
  return line === '=' ? Buffer.alloc(0) : unbase64(line);
}

/**
 * The PLAIN or LOGIN exchange of `AUTH mech [initial]` (RFC 4954, 4616):
 * `ask(prompt)` sends a 334 prompt and resolves with the client's next line.
 * Resolves with the user and password, or with the reply that ends the
 * exchange (504 unknown mechanism, 501 malformed or cancelled).
 */
export async function saslExchange(arg: string, ask: (prompt: string) => Promise<string>): Promise<{ user: string; pass: string } | { reply: string }> {
  const [mech, initial] = arg.split(/ +/, 2);
  const m = (mech ?? '').toLowerCase();
  if (m === 'plain') {
    const b = decodeResponse(initial ?? (await ask(AUTH_R.empty)));
    if (b === 'cancel') return { reply: AUTH_R.cancelled };
    const up = b && decodePlain(b);
    return up ? { user: up[0], pass: up[1] } : { reply: AUTH_R.malformed };
  }
  if (m === 'login') {
    const u = initial !== undefined ? unbase64(initial) : decodeResponse(await ask(AUTH_R.username));
    if (u === 'cancel') return { reply: AUTH_R.cancelled };
    if (!u || u.length === 0) return { reply: AUTH_R.malformed };
    const p = decodeResponse(await ask(AUTH_R.password));
    if (p === 'cancel') return { reply: AUTH_R.cancelled };
    if (!p) return { reply: AUTH_R.malformed };
    return { user: u.toString('latin1'), pass: p.toString('latin1') };
  }
  return { reply: AUTH_R.mechanism };
}

/** Strict base64 (RFC 4648, padding required), or undefined. */
export function unbase64(s: string): Buffer | undefined {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  return Buffer.from(s, 'base64');
}

/** PLAIN's `authzid\0authcid\0passwd`: [user, password], or undefined when malformed. */
export function decodePlain(b: Buffer): [string, string] | undefined {
  const a = b.indexOf(0);
  if (a < 0) return undefined;
  const c = b.indexOf(0, a + 1);
  if (c < 0) return undefined;
  const user = b.subarray(a + 1, c).toString('latin1');
  const pass = b.subarray(c + 1).toString('latin1');
  if (user === '' || pass.includes('\0')) return undefined;
  return [user, pass];
}

/**
 * Run checkpassword argv with user and password on fd 3; resolves with the
 * verdict (an exec failure is 'temp'; so is a program still running after
 * `timeout` seconds, which is then killed). `timestamp` goes third on fd 3.
 */
export function checkPassword(argv: string[], env: Record<string, string | undefined>, user: string, pass: string, timestamp: string, timeout = 60): Promise<AuthVerdict> {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit', 'pipe'], env: env as NodeJS.ProcessEnv });
    } catch {
      resolve('temp');
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout * 1000);
    child.on('error', () => {
      clearTimeout(timer);
      resolve('temp');
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? 'ok' : code === 111 || code === null ? 'temp' : 'bad');
    });
    const fd3 = child.stdio[3] as Writable | null;
    fd3?.on('error', () => undefined);
    fd3?.end(Buffer.from(`${user}\0${pass}\0${timestamp}\0`, 'latin1'));
  });
}
