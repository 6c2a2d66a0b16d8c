/**
 * bench/qmail-queue: messages queued per second, ours vs C, same run.
 *
 *   node bench/qmail-queue.ts [N]          (default N = 1000; BENCH_PROG_N for the per-process runs)
 *
 * Rows:
 *  - library, sequential: queueInject() N times in one process (the in-process
 *    path qmail-smtpd/qmail-inject take inside a server)
 *  - library, 10 in flight: the same with 10 concurrent injections (fsyncs overlap)
 *  - program, process per message: bin/qmail-queue spawned per message, message
 *    on a pipe (fd 0), envelope in a file (fd 1), as qmail-inject runs it
 * against bench/qmail-queue-baseline.c (qmail-queue's system-call sequence in
 * C, compiled here with cc -O2) looping in one process, and exec'd per message.
 * There is no C qmail-queue binary on this machine; ../shared/ANCHORS.md's
 * platform figure (create+write+fsync+rename ~370 us) is printed for scale.
 * Every message is 512 bytes with one recipient, fsync'd as qmail does.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { queueCreate } from '../src/lib/queue/create.ts';
import { queueInject } from '../src/lib/queue/inject.ts';
import { envelopeBytes } from '../src/lib/queue/envelope.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.argv[2] ?? 1000);
const PN = Number(process.env.BENCH_PROG_N ?? N);
const work = mkdtempSync(`${tmpdir()}/qqbench-`);
const MSG = Buffer.concat([Buffer.alloc(511, 'x'), Buffer.from('\n')]);
const ENV = envelopeBytes('s@x.example', ['r@y.example']);

function freshHome(tag: string): string {
  const h = `${work}/${tag}`;
  queueCreate(h, 23);
  return h;
}

function check(h: string, n: number): void {
  const got = readdirSync(`${h}/queue/todo`).length;
  if (got !== n) throw new Error(`${h}: expected ${n} queued, found ${got}`);
}

async function libSeq(): Promise<number> {
  const h = freshHome('libseq');
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    const r = await queueInject({ home: h }, MSG, ENV);
    if (r.code !== 0) throw new Error(`queueInject: ${r.code}`);
  }
  const s = (performance.now() - t) / 1000;
  check(h, N);
  return N / s;
}

async function libConc(c: number): Promise<number> {
  const h = freshHome(`libconc${c}`);
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (next < N) {
        next++;
        const r = await queueInject({ home: h }, MSG, ENV);
        if (r.code !== 0) throw new Error(`queueInject: ${r.code}`);
      }
    }),
  );
  const s = (performance.now() - t) / 1000;
  check(h, N);
  return N / s;
}

/** Run argv once per message with the message on a pipe and the envelope file on fd 1. */
async function perProcess(tag: string, argv: (h: string) => string[]): Promise<number> {
  const h = freshHome(tag);
  const ef = `${work}/${tag}.env`;
  writeFileSync(ef, ENV);
  const t = performance.now();
  for (let i = 0; i < PN; i++) {
    const fd = openSync(ef, 'r');
    const [cmd, ...args] = argv(h);
    const child = spawn(cmd, args, { stdio: ['pipe', fd, 'inherit'], env: { ...process.env, QMAILHOME: h } });
    closeSync(fd);
    child.stdin!.end(MSG);
    const code = await new Promise<number | null>((r) => child.on('close', r));
    if (code !== 0) throw new Error(`${cmd}: exit ${code}`);
  }
  const s = (performance.now() - t) / 1000;
  check(h, PN);
  return PN / s;
}

function cLoop(bin: string): number {
  const h = freshHome('cloop');
  const t = performance.now();
  execFileSync(bin, [`${h}/queue`, '23', String(N)]);
  const s = (performance.now() - t) / 1000;
  check(h, N);
  return N / s;
}

const row = (name: string, ours: number, c: number): void =>
  console.log(`${name.padEnd(34)} ours ${ours.toFixed(0).padStart(6)} msgs/s   C ${c.toFixed(0).padStart(6)} msgs/s   ratio ${(ours / c).toFixed(2)}`);

async function run(): Promise<void> {
  const cbin = `${work}/qmail-queue-baseline`;
  execFileSync('cc', ['-O2', '-o', cbin, `${ROOT}/bench/qmail-queue-baseline.c`]);
  console.log(`qmail-queue: ${N} messages of 512 bytes, one recipient, fsync per file (queue in ${tmpdir()})`);
  const c1 = cLoop(cbin);
  const l1 = await libSeq();
  row('library, sequential', l1, c1);
  const l10 = await libConc(10);
  row('library, 10 in flight', l10, c1);
  const cp = await perProcess('cproc', (h) => [cbin, `${h}/queue`, '23', '0']);
  const op = await perProcess('oproc', () => [`${ROOT}/bin/qmail-queue`]);
  row(`program, process per message (${PN})`, op, cp);
  console.log(`per message: library ${(1e6 / l1).toFixed(0)} us, C loop ${(1e6 / c1).toFixed(0)} us (ANCHORS.md: create+write+fsync+rename ~370 us)`);
}

run()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true }));
