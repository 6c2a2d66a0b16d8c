/**
 * bench/inject: sequential local injections per second, through the
 * qmail-inject and sendmail programs as installed (bin/ launchers: the
 * native front end, with qmail-queued running the injection; see
 * src/lib/inject/served.ts), through the same programs with no qmail-queued
 * listening (one Node start each), and through the library (injectMessage() in this process, as a server would call it),
 * each measured twice: injection alone (all N queued) and injection +
 * delivery (all N in Maildir/new, qmail-start's tree running the whole
 * time, every step fsync'd as qmail does).
 *
 *   node bench/inject.ts [N] [N_NODE]     (default 1000, 200)
 *
 * N for the installed programs and the library, N_NODE for the rows that
 * start Node per message.
 *
 * There is no C qmail on this machine: the C figures are
 * ../shared/ANCHORS.md's (1000 sequential local injections, delivered:
 * qmail-inject 287 msgs/s, Postfix sendmail 148 msgs/s), printed with the
 * ratio. Runs as nobody when root.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { delivered, ROOT, setupTree, startTree, stopTree } from './qmail-tree.ts';
import { injectMessage } from '../src/lib/inject/inject.ts';
import { injectSettings } from '../src/lib/inject/settings.ts';

const N = Number(process.argv[2] ?? 1000);
const N_NODE = Number(process.argv[3] ?? 200);
const C_QMAIL = 287;
const C_POSTFIX = 148;

const tree = setupTree('qinject-');
const MSG = Buffer.concat([Buffer.from('To: a@here.example\nSubject: bench\n\n'), Buffer.alloc(460, 'x'), Buffer.from('\n')]);

/**
 * Run bin/NAME ARGS n times one after another with MSG on fd 0, from one sh
 * loop (as a shell script or cron job would, and as the C figure was
 * taken: no fork of this Node process per message). Rejects on a failure.
 */
function runPrograms(name: string, args: string[], n: number): Promise<void> {
  const msg = `${tree.work}/msg`;
  writeFileSync(msg, MSG);
  const cmd = `${ROOT}/bin/${name} ${args.join(' ')}`;
  return new Promise((res, rej) => {
    const c = spawn('/bin/sh', ['-c', `i=0; while [ $i -lt ${n} ]; do ${cmd} < ${msg} || exit 1; i=$((i+1)); done`], { env: tree.env, stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('close', (code) => (code === 0 ? res() : rej(new Error(`${name} failed`))));
  });
}

async function waitDelivered(count: number): Promise<void> {
  const end = Date.now() + 600_000;
  while (delivered(tree).length < count) {
    if (Date.now() > end) throw new Error('deliveries timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const send = await startTree(tree);
let total = 0;
const rows: string[] = [];
async function row(label: string, n: number, all: () => Promise<void>, anchor: number, anchorName: string): Promise<void> {
  const t0 = performance.now();
  await all();
  const tInj = (performance.now() - t0) / 1000;
  total += n;
  await waitDelivered(total);
  const tAll = (performance.now() - t0) / 1000;
  const rate = n / tAll;
  rows.push(
    `${label.padEnd(34)} ${String(n).padStart(5)}   ${(n / tInj).toFixed(0).padStart(6)}/s   ${rate.toFixed(0).padStart(6)}/s   ${anchorName} ${anchor}/s   ratio ${(rate / anchor).toFixed(2)}`,
  );
}

const programRows = async (how: string, n: number): Promise<void> => {
  await row(`qmail-inject program${how}`, n, () => runPrograms('qmail-inject', [], n), C_QMAIL, 'C qmail-inject');
  await row(`sendmail program${how}`, n, () => runPrograms('sendmail', ['a@here.example'], n), C_POSTFIX, 'Postfix sendmail');
};
await programRows(', no qmail-queued', N_NODE);
mkdirSync(`${tree.qh}/qmail-queued`, { recursive: true });
const queued = spawn(`${ROOT}/bin/qmail-queued`, [], { env: tree.env, stdio: ['ignore', 'inherit', 'inherit'] });
while (!existsSync(`${tree.qh}/qmail-queued/socket`)) await new Promise((r) => setTimeout(r, 10));
// warm-up, not counted: qmail-queued's and qmail-send's first hundred
// messages run in the interpreter (the C programs have no such phase)
await runPrograms('qmail-inject', [], 100);
total += 100;
await waitDelivered(total);
await programRows('', N);
queued.kill('SIGTERM');
await row('injectMessage() in-process', N, async () => {
  for (let i = 0; i < N; i++) {
    const s = injectSettings(tree.env, tree.qh, tree.work);
    await injectMessage(tree.env, tree.qh, s, { input: MSG, args: [], strategy: 'default', now: Math.floor(Date.now() / 1000), pid: process.pid });
  }
}, C_QMAIL, 'C qmail-inject');
await stopTree(send);

console.log(`sequential local injections (${MSG.length}-byte message, one recipient, Maildir; C figures from ANCHORS.md, not this run)`);
console.log(`${'path'.padEnd(34)} ${'N'.padStart(5)}   ${'queued'.padStart(8)}   ${'delivered'.padStart(8)}`);
for (const r of rows) console.log(r);
rmSync(tree.work, { recursive: true, force: true });
