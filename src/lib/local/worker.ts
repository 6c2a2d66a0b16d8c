/**
 * local/worker: the process side of workers.ts, run as
 * `launch.js src/lib/local/worker qmail-lspawn-worker UID GID` by a root qmail-lspawn. Drops
 * to GID (setgroups [GID], setgid) and UID before reading anything; exits
 * 113 (QLX_ROOT) when that leaves it uid 0 and 112 (QLX_USAGE) when the
 * switch fails, as qmail-lspawn's child does. Then serves delivery requests
 * on fd 0 (frames, see workers.ts) with qmail-local's library, concurrently,
 * answers on fd 1, and exits 0 at EOF once every answer is written.
 */
import type { Ctx } from '../program.ts';
import { protGid, protUid } from '../prot.ts';
import { QLX } from '../spawn/protocol.ts';
import { qmailHome } from '../qmailhome.ts';
import { localDeliver, type LocalArgs } from './deliver.ts';
import { Message } from './message.ts';
import { frame, FrameReader } from './workers.ts';

export async function main(ctx: Ctx): Promise<number> {
  const uid = Number(ctx.argv[1]);
  const gid = Number(ctx.argv[2]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) return QLX.USAGE;
  try {
    protGid(gid);
    protUid(uid);
  } catch {
    return QLX.USAGE;
  }
  if (process.getuid!() === 0) return QLX.ROOT;
  process.umask(0o077);
  const env = { ...ctx.env };
  const patrn = env.QMAILPATRN && /^[0-7]{1,4}$/.test(env.QMAILPATRN) ? parseInt(env.QMAILPATRN, 8) : 0o002;
  delete env.QMAILPATRN;
  const home = qmailHome(ctx.env);
  ctx.stdout.on('error', () => undefined); // qmail-lspawn gone: nothing left to tell it
  const reader = new FrameReader();
  let header: { id: number; args: LocalArgs } | undefined;
  const pending = new Set<Promise<void>>();
  await new Promise<void>((resolve) => {
    ctx.stdin.on('data', (d: Buffer) => {
      for (const f of reader.push(d)) {
        if (!header) {
          header = JSON.parse(f.toString('latin1')) as { id: number; args: LocalArgs };
          continue;
        }
        const { id, args } = header;
        header = undefined;
        const message = Message.fromBytes(Buffer.from(f));
        const p = localDeliver(args, message, { env, patrn, qmailhome: home }).then((r) => {
          message.close();
          ctx.stdout.write(frame(Buffer.from(JSON.stringify({ id, code: r.code, output: r.output }), 'latin1')));
        });
        pending.add(p);
        void p.finally(() => pending.delete(p));
      }
    });
    ctx.stdin.on('end', resolve);
    ctx.stdin.on('error', () => resolve());
  });
  while (pending.size) await Promise.all([...pending]);
  await new Promise<void>((r) => ctx.stdout.write(Buffer.alloc(0), () => r()));
  return 0;
}
