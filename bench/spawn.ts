/**
 * bench/spawn: programs started per second from a Node process of a given
 * size, child_process.spawn (libuv: fork, whose cost grows with the
 * parent's page tables) vs src/lib/child.ts (posix_spawn: CLONE_VM|
 * CLONE_VFORK, no copy), one at a time and 10 in flight. Each start runs
 * /bin/true with fds 0 and 1 on /dev/null and waits for its exit.
 *
 *   node bench/spawn.ts [MB] [N]     (defaults 400 MB of touched memory, 300)
 *
 * The process first allocates and touches MB megabytes (as a long-running
 * tcpserver with many in-process sessions would have), then measures.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { startChild } from '../src/lib/child.ts';

const MB = Number(process.argv[2] ?? 400);
const N = Number(process.argv[3] ?? 300);

const ballast: Buffer[] = [];
for (let i = 0; i < MB; i++) ballast.push(Buffer.alloc(1 << 20, i & 255));

const devnull = openSync('/dev/null', 'r+');

function viaNode(): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn('/bin/true', [], { stdio: [devnull, devnull, 'inherit'] });
    c.on('error', reject);
    c.on('exit', () => resolve());
  });
}

async function viaPosixSpawn(): Promise<void> {
  const c = await startChild('/bin/true', ['true'], [], devnull);
  await c.exited;
}

/** Starts per second for N starts with conc in flight. */
async function rate(start: () => Promise<void>, conc: number): Promise<number> {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < N) {
        next++;
        await start();
      }
    }),
  );
  return N / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
console.log(`program starts/s from a ${rss} MB process (${N} starts of /bin/true; higher is better)`);
for (const conc of [1, 10]) {
  const a = await rate(viaNode, conc);
  const b = await rate(viaPosixSpawn, conc);
  console.log(`  conc ${String(conc).padStart(2)}: child_process.spawn ${a.toFixed(0).padStart(6)}/s   child.ts ${b.toFixed(0).padStart(6)}/s   ratio ${(b / a).toFixed(2)}`);
}
closeSync(devnull);
if (ballast.length < 0) console.log(ballast.length); // keep the ballast alive to the end
