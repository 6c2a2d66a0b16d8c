/**
 * Differential replay against notqmail's C qmail-smtpd and qmail-inject:
 * the scripted cases of test/fixtures/notqmail/{smtpd,inject}/cases.json
 * were run once through the C programs and their output kept as golden
 * files (the README there says how: notqmail commit, conf-* values,
 * controls, environment). Here each case runs through OUR program the same
 * way (qmail-smtpd on a pipe as stdin/stdout with the TCP* environment and
 * QMAILQUEUE pointing at a capture script; qmail-inject -n, or queueing
 * through the same capture script, with the same control files under
 * QMAILHOME) and the bytes are compared: the replies, the exit status, every
 * message and envelope handed to the queue; for qmail-inject stdout, stderr,
 * the exit status and what it queued. Some SMTP sessions run a second time
 * cut into 1-7 byte writes against the same transcript. Only what
 * legitimately differs between two runs is masked (the acceptance's time and
 * qp, the Received and Date fields' dates, the Message-ID's and VERP's time
 * and pid).
 * Deliberate differences are listed in DELIBERATE below and explained in the
 * README.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { ROOT, ours, prng, tmpdir } from './helpers.ts';
import { cdbBuild } from '../src/lib/cdb.ts';
import {
  atHome,
  chunked,
  maskEnvelope,
  maskInjected,
  maskMessage,
  maskReplies,
  runInject,
  runSmtpSession,
  withEnv,
  writeControls,
  type InjectCases,
  type SmtpCases,
} from './notqmail-replay.ts';

const FIX = `${ROOT}/test/fixtures/notqmail`;
const BASE = { PATH: '/usr/bin:/bin' };

/**
 * Where ours deliberately differs from notqmail (README.md, "Deliberate
 * differences"): case name -> the golden replies turned into what we write,
 * and the number of messages we queue when that differs too. Both come from
 * the SIZE extension (RFC 1870) that ours offers when a databytes limit is
 * set: `250 SIZE n` in the EHLO reply, and a MAIL whose SIZE= is over the
 * limit refused at once with the 552 the original gives after DATA.
 */
const DELIBERATE: Record<string, { replies: (golden: string) => string; messages?: number }> = {
  'databytes-control-ehlo': { replies: (g) => g.replace('250 8BITMIME\r\n', '250-8BITMIME\r\n250 SIZE 60\r\n') },
  'mail-size-over-databytes': {
    replies: (g) =>
      g.replace(
        '250 ok\r\n250 ok\r\n354 go ahead\r\n250 ok TIME qp PID\r\n',
        '552 sorry, that message size exceeds my databytes limit (#5.3.4)\r\n503 MAIL first (#5.5.1)\r\n503 MAIL first (#5.5.1)\r\n502 unimplemented (#5.5.1)\r\n502 unimplemented (#5.5.1)\r\n',
      ),
    messages: 0,
  },
};

/** Controls for a case in a fresh qmail home (morercpthosts.cdb as qmail-newmrh builds it: lines lowercased). */
function home(controls: Record<string, string>, delta: Record<string, string | null> | undefined): string {
  const h = `${tmpdir('nqgold-')}`;
  writeControls(`${h}/control`, controls, delta);
  const more = `${h}/control/morercpthosts`;
  if (existsSync(more)) {
    const hosts = readFileSync(more, 'latin1').split('\n').filter((l) => l !== '');
    writeFileSync(`${h}/control/morercpthosts.cdb`, cdbBuild(hosts.map((x) => [x.toLowerCase(), ''] as const)));
  }
  return h;
}

/** Cases replayed a second time cut into writes of 1 to 7 bytes (the DATA and command-line state machines across reads). */
const CHUNKED = ['basic', 'pipelined-all-at-once', 'two-messages', 'dot-stuffing', 'dot-cr-edges', 'bare-cr-in-data', 'bare-lf-in-data', 'bare-lf-commands', 'hops-case', 'eight-bit', 'nul-in-command', 'command-line-oddities', 'address-edge-forms'];

describe('qmail-smtpd replays notqmail transcripts', () => {
  const cases: SmtpCases = JSON.parse(readFileSync(`${FIX}/smtpd/cases.json`, 'utf8'));
  const results: Record<string, { status: number; messages: number }> = JSON.parse(readFileSync(`${FIX}/smtpd/results.json`, 'utf8'));
  const work = tmpdir('nqgold-work-');
  const rnd = prng(4711);
  const runs = [...cases.cases, ...cases.cases.filter((c) => CHUNKED.includes(c.name)).map((c) => ({ ...chunked(c, rnd), label: `${c.name} (in 1-7 byte writes)` }))];
  for (const c of runs as Array<SmtpCases['cases'][number] & { label?: string }>) {
    it(c.label ?? c.name, async () => {
      const h = home(cases.controls, c.controls);
      const env = withEnv({ ...BASE, ...cases.env, QMAILHOME: h }, c.env);
      const r = await runSmtpSession(ours('qmail-smtpd'), env, c, work);
      const golden = maskReplies(readFileSync(`${FIX}/smtpd/${c.name}.out`));
      const deliberate = DELIBERATE[c.name];
      expect(maskReplies(r.out), r.err.toString()).toBe(deliberate ? deliberate.replies(golden) : golden);
      expect(r.status).toBe(results[c.name].status);
      expect(r.messages.length).toBe(deliberate?.messages ?? results[c.name].messages);
      r.messages.forEach((m, i) => {
        expect(maskMessage(m.msg)).toBe(maskMessage(readFileSync(`${FIX}/smtpd/${c.name}.${i + 1}.msg`)));
        expect(m.env.toString('latin1')).toBe(readFileSync(`${FIX}/smtpd/${c.name}.${i + 1}.env`, 'latin1'));
      });
    }, 20_000);
  }
});

describe('qmail-inject -n replays notqmail outputs', () => {
  const cases: InjectCases = JSON.parse(readFileSync(`${FIX}/inject/cases.json`, 'utf8'));
  const results: Record<string, { status: number; stderr: string; messages?: number }> = JSON.parse(readFileSync(`${FIX}/inject/results.json`, 'utf8'));
  const work = tmpdir('nqgold-work-');
  for (const c of cases.cases) {
    it(c.name, async () => {
      const h = home(cases.controls, c.controls);
      const r = await runInject(ours('qmail-inject'), atHome(withEnv({ ...BASE, ...cases.env, QMAILHOME: h }, c.env), h), c, work);
      expect(r.err.toString('latin1')).toBe(results[c.name].stderr);
      expect(r.status).toBe(results[c.name].status);
      expect(maskInjected(r.out)).toBe(maskInjected(readFileSync(`${FIX}/inject/${c.name}.out`)));
      expect(r.messages.length).toBe(results[c.name].messages ?? 0);
      r.messages.forEach((m, i) => {
        expect(maskInjected(m.msg)).toBe(maskInjected(readFileSync(`${FIX}/inject/${c.name}.${i + 1}.msg`)));
        expect(maskEnvelope(m.env)).toBe(maskEnvelope(readFileSync(`${FIX}/inject/${c.name}.${i + 1}.env`)));
      });
    }, 20_000);
  }
});
