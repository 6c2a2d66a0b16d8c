/**
 * qmail-lspawn defaultdelivery
 *
 * qmail-send's local delivery spawner (qmail-lspawn(8)): reads delivery
 * commands on fd 0 and writes reports on fd 1 in qmail's spawn protocol
 * (src/lib/spawn/protocol.ts: greeting byte = concurrency limit 120, then
 * `DELNUM MESSID\0SENDER\0RECIP\0` in, `DELNUM STATUS TEXT\0` out, in
 * completion order). Each recipient is looked up in QMAILHOME/users/cdb,
 * then with qmail-getpw's rules, and the message delivered as
 * qmail-local(8) does with `defaultdelivery` for a missing or empty .qmail
 * (src/lib/local/spawner.ts). Deliveries as uid 0 are refused.
 *
 * Not root: deliveries run inside this process (qmail-local's library,
 * concurrently); every address must belong to this uid. Root: each uid gets
 * a long-lived worker process that drops to the account's uid/gid before
 * reading anything (src/lib/local/workers.ts) and exits when idle.
 *
 * Environment: QMAILHOME; QMAILPATRN (octal, default 002: the mode bits
 * not allowed on a home directory or .qmail file, qmail's conf-patrn); the
 * rest is passed to qmail-local's programs. The umask is 077.
 * Exit: 100 without defaultdelivery; 111 when QMAILHOME/queue/mess is
 * missing; 0 after fd 0's EOF once every delivery has been reported.
 */
import { statSync } from 'node:fs';
import type { Ctx } from '../lib/program.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { CommandParser, encodeGreeting } from '../lib/spawn/protocol.ts';
import { LocalSpawner } from '../lib/local/spawner.ts';
import { WorkerPool } from '../lib/local/workers.ts';

/** QMAILPATRN as a mode mask (octal digits), default 0o002. */
export function patrnFrom(env: Record<string, string | undefined>): number {
  const v = env.QMAILPATRN;
  return v !== undefined && /^[0-7]{1,4}$/.test(v) ? parseInt(v, 8) : 0o002;
}

export async function main(ctx: Ctx): Promise<number> {
  const aliasempty = ctx.argv[1];
  if (aliasempty === undefined) return 100;
  const home = qmailHome(ctx.env);
  try {
    statSync(`${home}/queue/mess`);
  } catch {
    return 111;
  }
  process.umask(0o077);
  const root = process.getuid!() === 0;
  const pool = root ? new WorkerPool({ env: ctx.env, home, patrn: patrnFrom(ctx.env) }) : undefined;
  const spawner = new LocalSpawner({
    home,
    aliasempty: Buffer.from(aliasempty, 'utf8').toString('latin1'),
    env: ctx.env,
    patrn: patrnFrom(ctx.env),
    runnerFor: pool ? (uid, gid) => pool.runner(uid, gid) : undefined,
  });
  let writing = true;
  const out = ctx.stdout;
  out.on('error', () => {
    writing = false; // qmail-lspawn's okwrite: keep delivering, stop reporting
  });
  const send = (b: Buffer): void => {
    if (writing) out.write(b);
  };
  send(encodeGreeting(spawner.concurrency));
  const parser = new CommandParser();
  const pending = new Set<Promise<void>>();
  await new Promise<void>((resolve) => {
    ctx.stdin.on('data', (chunk: Buffer) => {
      for (const cmd of parser.push(chunk)) {
        const p = spawner.handle(cmd).then(send);
        pending.add(p);
        void p.finally(() => pending.delete(p));
      }
    });
    ctx.stdin.on('end', resolve);
    ctx.stdin.on('error', () => resolve());
  });
  while (pending.size > 0) await Promise.all([...pending]);
  await pool?.close();
  if (writing) await new Promise<void>((r) => out.write(Buffer.alloc(0), () => r()));
  return 0;
}
