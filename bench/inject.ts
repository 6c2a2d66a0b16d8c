/**
 * bench/inject: sequential local injections per second, through the
 * qmail-inject and sendmail programs (one Node start each) and through the
 * library (injectMessage() in this process, as a server would call it),
 * each measured twice: injection alone (all N queued) and injection +
 * delivery (all N in Maildir/new, qmail-start's tree running the whole
 * time, every step fsync'd as qmail does).
 *
 *   node bench/inject.ts [N_LIBRARY] [N_PROGRAM]     (default 1000, 200)
 *
 * There is no C qmail on this machine: the C figures are
 * ../shared/ANCHORS.md's (1000 sequential local injections, delivered:
 * qmail-inject 287 msgs/s, Postfix sendmail 148 msgs/s), printed with the
 * ratio. Runs as nobody when root.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { delivered, ROOT, setupTree, startTree, stopTree } from './qmail-tree.ts';
import { injectMessage } from '../src/lib/inject/inject.ts';
import { injectSettings } from '../src/lib/inject/settings.ts';

const N_LIB = Number(process.argv[2] ?? 1000);
const N_PROG = Number(process.argv[3] ?? 200);
const C_QMAIL = 287;
const C_POSTFIX = 148;

const tree = setupTree('qinject-');
const MSG = Buffer.concat([Buffer.from('To: a@here.example\nSubject: bench\n\n'), Buffer.alloc(460, 'x'), Buffer.from('\n')]);

function runProgram(name: string, args: string[]): Promise<number | null> {
  return new Promise((res) => {
    const c = spawn(`${ROOT}/bin/${name}`, args, { env: tree.env, stdio: ['pipe', 'ignore', 'inherit'] });
    c.stdin!.end(MSG);
    c.on('close', (code) => res(code));
  });
}

async function waitDelivered(count: number): Promise<void> {
  const end = Date.now() + 600_000;
  while (delivered(tree).length < count) {
    if (Date.now() > end) throw new Error('deliveries timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

const send = await startTree(tree);
let total = 0;
const rows: string[] = [];
async function row(label: string, n: number, one: () => Promise<void>, anchor: number, anchorName: string): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await one();
  const tInj = (performance.now() - t0) / 1000;
  total += n;
  await waitDelivered(total);
  const tAll = (performance.now() - t0) / 1000;
  const rate = n / tAll;
  rows.push(
    `${label.padEnd(34)} ${String(n).padStart(5)}   ${(n / tInj).toFixed(0).padStart(6)}/s   ${rate.toFixed(0).padStart(6)}/s   ${anchorName} ${anchor}/s   ratio ${(rate / anchor).toFixed(2)}`,
  );
}

await row('qmail-inject program', N_PROG, async () => {
  if ((await runProgram('qmail-inject', [])) !== 0) throw new Error('qmail-inject failed');
}, C_QMAIL, 'C qmail-inject');
await row('sendmail program', N_PROG, async () => {
  if ((await runProgram('sendmail', ['a@here.example'])) !== 0) throw new Error('sendmail failed');
}, C_POSTFIX, 'Postfix sendmail');
await row('injectMessage() in-process', N_LIB, async () => {
  const s = injectSettings(tree.env, tree.qh, tree.work);
  await injectMessage(tree.env, tree.qh, s, { input: MSG, args: [], strategy: 'default', now: Math.floor(Date.now() / 1000), pid: process.pid });
}, C_QMAIL, 'C qmail-inject');
await stopTree(send);

console.log(`sequential local injections (${MSG.length}-byte message, one recipient, Maildir; C figures from ANCHORS.md, not this run)`);
console.log(`${'path'.padEnd(34)} ${'N'.padStart(5)}   ${'queued'.padStart(8)}   ${'delivered'.padStart(8)}`);
for (const r of rows) console.log(r);
rmSync(tree.work, { recursive: true, force: true });
