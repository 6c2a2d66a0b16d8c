/**
 * bench/torture-queue: crash safety of injection and delivery (issue 4,
 * "Crash safety"). Each round injects one message with the qmail-inject
 * program (which queues in-process, i.e. does qmail-queue's work) and
 * kill -9's it at a random moment of its life, or runs qmail-queue itself
 * (message and envelope fed in pieces) and kill -9's that, while
 * qmail-start's tree delivers into a Maildir; some rounds instead kill -9
 * qmail-send or qmail-lspawn (mid-delivery) and restart the tree, as
 * supervise would. At the end the tree drains the queue and the script
 * checks qmail's promises:
 *
 *  - lost: a message whose injector exited 0 (accepted) that was neither
 *    delivered nor is still queued: must be 0;
 *  - corrupt: a delivered message that is not complete (its last line is
 *    the END marker for its number and size), a queued todo/info entry
 *    without its mess file, or qmail-send `warning: unknown record`/
 *    `trouble` lines: must be 0;
 *  - duplicates: extra copies (at-least-once: a kill between the mailbox
 *    write and qmail-send recording it); counted and reported;
 *  - debris: what killed injectors leave in pid/, mess/ (no todo/info) and
 *    intd/, legitimately, for qmail-send's 36-hour cleanup; reported.
 * Messages whose injector was killed may or may not be delivered (either is
 * correct), reported as `unacknowledged delivered`.
 *
 *   node bench/torture-queue.ts [--rounds N] [--seed S] [--json]
 *
 * Default 1000 rounds. Exit 0 when lost = corrupt = 0 and the queue
 * drained, 1 otherwise. As root, everything runs as nobody (deliveries are
 * never made as root). --json prints one JSON object (the test suite's
 * short run, test/torture.test.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, readFileSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { sys } from '../src/lib/native.ts';
import { children, pending, ROOT, setupTree, startTree as start, stopTree, treeStats } from './qmail-tree.ts';
const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const ROUNDS = arg('--rounds', 1000);
let seed = arg('--seed', 1);
const JSON_OUT = process.argv.includes('--json');
const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const say = (s: string): void => {
  if (!JSON_OUT) console.log(s);
};

/** what failed injections printed */
const failText: string[] = [];
const tree = setupTree('qtorture-');
const { work, qh, mbox } = tree;
const ENV = tree.env;

/** Run a program to completion (or kill -9 it after killAfter ms); its exit code, null when killed. */
function run(prog: string, args: string[], killAfter: number, input?: Buffer): Promise<number | null> {
  return new Promise((res) => {
    const c = spawn(prog, args, { env: ENV, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    c.stderr!.on('data', (b: Buffer) => (err += b.toString('latin1')));
    c.stdin!.on('error', () => undefined);
    if (input) c.stdin!.end(input);
    const t = setTimeout(() => c.kill('SIGKILL'), killAfter);
    c.on('close', (code, sig) => {
      clearTimeout(t);
      if (!sig && code !== 0 && err) failText.push(`${prog.slice(prog.lastIndexOf('/') + 1)} ${code}: ${err.trim().split('\n').slice(0, 3).join(' | ')}`);
      res(sig ? null : code);
    });
  });
}

/** The message numbered n: a Subject, a body of random size, and an END marker with the size. */
function message(n: number): Buffer {
  const size = Math.floor(rnd() * 65536);
  return Buffer.from(`To: a@here.example\nSubject: t${n}\n\n${'x'.repeat(size)}\nEND t${n} ${size}\n`);
}

/**
 * qmail-queue fed by hand: the message, then the envelope in two pieces
 * with random pauses (its fd 1 is a pipe's read end, as qmail-inject gives
 * it); kill -9 after killAfter ms. Its exit code, null when killed.
 */
function viaQmailQueue(msg: Buffer, killAfter: number): Promise<number | null> {
  const [r, w] = sys.pipe();
  const c = spawn(`${ROOT}/bin/qmail-queue`, [], { env: ENV, stdio: ['pipe', r, 'pipe'] });
  closeSync(r);
  let err = '';
  c.stderr!.on('data', (b: Buffer) => (err += b.toString('latin1')));
  c.stdin!.on('error', () => undefined);
  const env = Buffer.from('Ftorture@here.example\0Ta@here.example\0\0');
  const cut = Math.floor(rnd() * env.length);
  const pause1 = rnd() * 20;
  const pause2 = rnd() * 20;
  let open = true;
  const closeW = (): void => {
    if (open) {
      open = false;
      closeSync(w);
    }
  };
  c.stdin!.end(msg, () => {
    setTimeout(() => {
      try {
        if (open) writeSync(w, env.subarray(0, cut));
      } catch {
        /* killed */
      }
      setTimeout(() => {
        try {
          if (open) writeSync(w, env.subarray(cut));
        } catch {
          /* killed */
        }
        closeW();
      }, pause2);
    }, pause1);
  });
  const t = setTimeout(() => c.kill('SIGKILL'), killAfter);
  return new Promise((res) =>
    c.on('close', (code, sig) => {
      clearTimeout(t);
      closeW();
      if (!sig && code !== 0 && err) failText.push(`qmail-queue ${code}: ${err.trim().split('\n').slice(0, 3).join(' | ')}`);
      res(sig ? null : code);
    }),
  );
}

const warnings: string[] = [];
let send: ChildProcess;
const startTree = (): Promise<ChildProcess> => start(tree, (l) => {
  if (/warning: (unknown record|trouble)/.test(l)) warnings.push(l);
});
/** kill -9 qmail-send (or qmail-lspawn, after which qmail-send dies by itself) and its children; wait for qmail-send. */
async function killTree(p: ChildProcess, which: 'send' | 'lspawn'): Promise<void> {
  const kids = children(p.pid!);
  const closed = new Promise<void>((res) => (p.exitCode !== null || p.signalCode !== null ? res() : p.once('close', () => res())));
  const lspawn = kids.find((k) => {
    try {
      return readFileSync(`/proc/${k}/cmdline`, 'latin1').includes('qmail-lspawn');
    } catch {
      return false;
    }
  });
  if (which === 'lspawn' && lspawn !== undefined) {
    process.kill(lspawn, 'SIGKILL');
    const t = setTimeout(() => p.kill('SIGKILL'), 3000);
    await closed;
    clearTimeout(t);
  } else {
    p.kill('SIGKILL');
    await closed;
  }
  for (const k of kids) {
    try {
      process.kill(k, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

const accepted = new Set<number>();
const attempted: number[] = [];
const stats = { injectKills: 0, queueKills: 0, sendKills: 0, lspawnKills: 0, injectFailures: 0 };
/** exit codes of injections that failed without being killed (e.g. qmail-queue's 54 when its envelope writer saw it die) */
const failCodes: Record<string, number> = {};


// calibrate: how long a qmail-inject run lives
const times: number[] = [];
let n = 0;
send = await startTree();
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  const m = n++;
  attempted.push(m);
  if ((await run(`${ROOT}/bin/qmail-inject`, [], 10000, message(m))) === 0) accepted.add(m);
  times.push(performance.now() - t0);
}
// the kill window follows the machine's load: the median of the last 15 completed runs
let life = times.sort((a, b) => a - b)[2];
const recent: number[] = times.slice();
const observe = (ms: number): void => {
  recent.push(ms);
  if (recent.length > 15) recent.shift();
  life = recent.slice().sort((a, b) => a - b)[recent.length >> 1];
};
const t0 = performance.now();
for (let r = 0; r < ROUNDS; r++) {
  const x = rnd();
  if (x < 0.08) {
    await killTree(send, 'send');
    stats.sendKills++;
    send = await startTree();
  } else if (x < 0.16) {
    await killTree(send, 'lspawn');
    stats.lspawnKills++;
    send = await startTree();
  } else {
    const m = n++;
    attempted.push(m);
    const killAt = x < 0.9 ? life * (0.7 + rnd() * 0.45) : 60000;
    const direct = rnd() < 0.3;
    const started = performance.now();
    const code = direct ? await viaQmailQueue(message(m), killAt + 20) : await run(`${ROOT}/bin/qmail-inject`, [], killAt, message(m));
    if (code !== null && !direct) observe(performance.now() - started);
    if (code === 0) accepted.add(m);
    else if (code === null) stats[direct ? 'queueKills' : 'injectKills']++;
    else {
      stats.injectFailures++;
      failCodes[`${direct ? 'qmail-queue' : 'qmail-inject'} ${code}`] = (failCodes[`${direct ? 'qmail-queue' : 'qmail-inject'} ${code}`] ?? 0) + 1;
    }
  }
  if ((r + 1) % 100 === 0) say(`  ${r + 1} rounds: ${attempted.length} injections, ${accepted.size} accepted`);
}
const elapsed = (performance.now() - t0) / 1000;

// drain
const count = (d: string): number => readdirSync(`${qh}/queue/${d}`).reduce((k, s) => k + readdirSync(`${qh}/queue/${d}/${s}`).length, 0);
const deadline = Date.now() + 180_000;
while (pending(tree) > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
await stopTree(send);

// check
const delivered = new Map<number, number>();
let corrupt = 0;
for (const f of readdirSync(`${mbox}/Maildir/new`)) {
  const text = readFileSync(`${mbox}/Maildir/new/${f}`, 'latin1');
  const m = /^Subject: t(\d+)$/m.exec(text);
  const end = /\n(x*)\nEND t(\d+) (\d+)\n$/.exec(text);
  if (!m || !end || end[2] !== m[1] || Number(end[3]) !== end[1].length) {
    corrupt++;
    continue;
  }
  const k = Number(m[1]);
  delivered.set(k, (delivered.get(k) ?? 0) + 1);
}
// queued entries must be whole: every todo/info has its mess
for (const s of readdirSync(`${qh}/queue/info`))
  for (const id of readdirSync(`${qh}/queue/info/${s}`)) {
    try {
      statSync(`${qh}/queue/mess/${s}/${id}`);
    } catch {
      corrupt++;
    }
  }
for (const id of readdirSync(`${qh}/queue/todo`)) {
  try {
    statSync(`${qh}/queue/mess/${Number(id) % 23}/${id}`);
  } catch {
    corrupt++;
  }
}
let lost = 0;
let duplicates = 0;
let unackDelivered = 0;
for (const k of attempted) {
  const c = delivered.get(k) ?? 0;
  if (accepted.has(k) && c === 0) lost++;
  if (!accepted.has(k) && c > 0) unackDelivered++;
  if (c > 1) duplicates += c - 1;
}
const left = pending(tree);
const debris = readdirSync(`${qh}/queue/pid`).length + readdirSync(`${qh}/queue/intd`).length + count('mess') - count('info');
const result = {
  rounds: ROUNDS,
  seconds: Number(elapsed.toFixed(1)),
  injections: attempted.length,
  accepted: accepted.size,
  ...stats,
  delivered: [...delivered.values()].reduce((a, b) => a + b, 0),
  lost,
  duplicates,
  corrupt,
  warnings: warnings.length,
  leftQueued: left,
  debris,
  unackDelivered,
  failCodes,
  failText: failText.slice(0, 3),
  treeRestarts: treeStats.restarts,
};
rmSync(work, { recursive: true, force: true });
if (JSON_OUT) console.log(JSON.stringify(result));
else {
  say(`${ROUNDS} rounds in ${result.seconds} s: ${result.injections} injections (${stats.injectKills} qmail-inject and ${stats.queueKills} qmail-queue killed -9, ${stats.injectFailures} failed), ${result.accepted} accepted; qmail-send killed ${stats.sendKills}x, qmail-lspawn killed ${stats.lspawnKills}x`);
  say(`  lost: ${lost}   corrupt: ${corrupt}   qmail-send warnings: ${warnings.length}   left queued: ${left}`);
  say(`  duplicates: ${duplicates}   unacknowledged but delivered: ${unackDelivered}   crash debris for the 36 h cleanup: ${debris}`);
  if (treeStats.restarts) say(`  qmail-start exited before logging ${treeStats.restarts}x and was started again; last: ${treeStats.lastFailure.trim()}`);
  if (stats.injectFailures) say(`  failed injections by exit code: ${JSON.stringify(failCodes)}`);
  for (const f of failText.slice(0, 3)) say(`    ${f}`);
  for (const w of warnings.slice(0, 5)) say(`  ${w}`);
}
process.exit(lost === 0 && corrupt === 0 && warnings.length === 0 && left === 0 ? 0 : 1);
