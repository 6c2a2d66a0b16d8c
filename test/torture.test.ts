/**
 * Crash safety, short version of bench/torture-queue.ts (issue 4): 20
 * rounds of kill -9 of qmail-inject, qmail-queue, qmail-send and
 * qmail-lspawn at random moments while messages are injected and delivered;
 * afterwards nothing accepted is lost, nothing delivered or queued is
 * corrupt, the queue drains. Duplicates and crash debris are allowed
 * (qmail's at-least-once delivery and 36-hour cleanup).
 */
import { describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { execa } from 'execa';
import { isRoot, NODE, ROOT } from './helpers.ts';

/** As root the script runs as nobody, who must be able to reach the checkout's launchers. */
function nobodyCanRun(): boolean {
  if (!isRoot) return true;
  for (let d = ROOT; d !== ''; d = d.slice(0, d.lastIndexOf('/'))) if ((statSync(d).mode & 0o001) === 0) return false;
  return true;
}
const skip = nobodyCanRun() ? '' : 'nobody cannot reach the checkout';
if (skip) console.warn(`torture test skipped: ${skip}`);

describe('torture', () => {
  it.skipIf(skip)('20 rounds of kill -9: no accepted message lost, nothing corrupt', async () => {
    const seed = String(Date.now() % 100000); // printed on failure: rerun with --seed
    const r = await execa(NODE, [`${ROOT}/bench/torture-queue.ts`, '--rounds', '20', '--seed', seed, '--json'], { reject: false, timeout: 120_000 });
    const res = JSON.parse(r.stdout) as Record<string, number>;
    expect(res.injections).toBeGreaterThan(0);
    expect({ lost: res.lost, corrupt: res.corrupt, warnings: res.warnings, leftQueued: res.leftQueued }, `seed ${seed}`).toEqual({ lost: 0, corrupt: 0, warnings: 0, leftQueued: 0 });
    expect(r.exitCode, `seed ${seed}: ${r.stdout}`).toBe(0);
  }, 150_000);
});
