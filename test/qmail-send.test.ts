/**
 * qmail-start / qmail-send / qmail-lspawn / qmail-rspawn / qmail-clean end
 * to end through the real queue: log lines of qmail-log(5), the todo ->
 * info/local/remote -> done progression, Maildir results, QSBMF bounces byte
 * for byte (notqmail's texts), double and triple bounces, deferral with the
 * retry time saved at TERM, ALRM, queuelifetime, HUP, a stub qmail-remote,
 * and kill -9 of qmail-send at random moments with nothing lost.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chownSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { Mta, RUN_GID, RUN_UID } from './send-helpers.ts';
import { isRoot, ours, until } from './helpers.ts';
import { execa } from 'execa';

let mta: Mta | undefined;
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && mta) console.log(mta.log.join('\n'));
  if (mta?.proc) await mta.stop('SIGKILL');
  mta = undefined;
});

const split = (id: number): string => `${id % 3}/${id}`;

/** The bounce with its variable parts (Date, qmail-queue pid, time) normalised. */
function norm(s: string): string {
  return s
    .replace(/^Date: .*$/m, 'Date: DATE')
    .replace(/^Delivered-To: .*$/m, 'Delivered-To: RECIPIENT')
    .replace(/Received: \(qmail \d+ invoked (by uid|for bounce)( \d+)?\); .*$/gm, 'Received: (qmail PID invoked $1); DATE');
}

describe('qmail-send', () => {
  it('delivers a local message: log lines, queue files, Maildir contents, TERM', async () => {
    mta = new Mta();
    await mta.start();
    const id = await mta.inject('s@x.example', ['joe@here.example']);
    const end = await mta.waitLog(new RegExp(`^end msg ${id}$`));
    const log = mta.log.slice(0, end + 1);
    expect(log).toContain(`new msg ${id}`);
    expect(log.find((l) => l.startsWith(`info msg ${id}:`))).toMatch(new RegExp(`^info msg ${id}: bytes \\d+ from <s@x.example> qp \\d+ uid ${process.getuid!() === 0 ? 65534 : process.getuid!()}$`));
    const start = log.findIndex((l) => /^starting delivery \d+: msg \d+ to local joe@here.example$/.test(l));
    expect(start).toBeGreaterThan(0);
    const delid = /^starting delivery (\d+)/.exec(log[start])![1];
    expect(log[start + 1]).toMatch(/^status: local 1\/10 remote 0\/20$/);
    expect(log).toContain(`delivery ${delid}: success: did_1+0+0/`);
    const msgs = mta.maildir(mta.joe);
    expect(msgs.length).toBe(1);
    expect(msgs[0]).toMatch(/^Return-Path: <s@x.example>\nDelivered-To: joe@here.example\nReceived: \(qmail \d+ invoked by uid \d+\); .* -0000\nSubject: test\n\nhello\n$/);
    await until(() => mta!.queueEmpty());
    expect(await mta.stop()).toBe(0);
    expect(mta.log[mta.log.length - 1]).toBe('status: exiting');
  });

  it('bounces a permanent failure to the sender in QSBMF, original quoted', async () => {
    mta = new Mta();
    mta.control('bouncefrom', 'MAILER-DAEMON\n');
    await mta.start();
    const id = await mta.inject('sender@here.example', ['joe-hard@here.example', 'joe@here.example'], 'Subject: x\n\nline\n');
    await mta.waitLog(new RegExp(`^bounce msg ${id} qp \\d+$`));
    await mta.waitLog(new RegExp(`^end msg ${id}$`));
    await until(() => mta!.maildir(mta!.alias).length === 1 && mta!.queueEmpty());
    const bounce = mta.maildir(mta.alias)[0];
    expect(norm(bounce)).toBe(
      norm(
        'Return-Path: <>\n' +
          'Delivered-To: alias-sender@here.example\n' +
          'Received: (qmail 1 invoked for bounce); DATE\n' +
          'Date: DATE\n' +
          'From: MAILER-DAEMON@here.example\n' +
          'To: sender@here.example\n' +
          'Subject: failure notice\n' +
          '\n' +
          'Hi. This is the qmail-send program at here.example.\n' +
          "I'm afraid I wasn't able to deliver your message to the following addresses.\n" +
          "This is a permanent error; I've given up. Sorry it didn't work out.\n" +
          '\n' +
          '<joe-hard@here.example>:\n' +
          'no such list\n' +
          '\n' +
          '--- Below this line is a copy of the message.\n' +
          '\n' +
          'Return-Path: <sender@here.example>\n' +
          'Received: (qmail 1 invoked by uid 1); DATE\n' +
          'Subject: x\n' +
          '\n' +
          'line\n',
      ),
    );
  });

  it('double bounce to doublebounceto, triple bounce discarded', async () => {
    mta = new Mta();
    mta.control('doublebounceto', 'joe\n');
    await mta.start();
    // sender joe-hard: the bounce fails too -> double bounce to joe@here.example
    const id = await mta.inject('joe-hard@here.example', ['joe-hard@here.example']);
    await mta.waitLog(new RegExp(`^bounce msg ${id} qp`));
    await until(() => mta!.maildir(mta!.joe).length === 1 && mta!.queueEmpty());
    const dbl = mta.maildir(mta.joe)[0];
    expect(dbl).toContain('\nTo: joe@here.example\nSubject: failure notice\n\nHi. This is the qmail-send program at here.example.\nI tried to deliver a bounce message to this address, but the bounce bounced!\n\n<joe-hard@here.example>:\nno such list\n\n--- Below this line is the original bounce.\n\nReturn-Path: <>\n');
    expect(dbl).toMatch(/^Return-Path: <#@\[\]>\nDelivered-To: joe@here.example\n/);
    expect(mta.log.filter((l) => l.startsWith('bounce msg ')).length).toBe(2);
    await mta.stop();
    // doublebounceto fails as well: triple bounce
    mta.control('doublebounceto', 'joe-hard\n');
    await mta.start();
    const id2 = await mta.inject('joe-hard@here.example', ['joe-hard@here.example']);
    await mta.waitLog(new RegExp(`^bounce msg ${id2} qp`));
    await mta.waitLog(/^triple bounce: discarding bounce\/\d+$/);
    await until(() => mta!.queueEmpty());
  });

  it('defers, saves the retry time at TERM, retries on ALRM; queuelifetime turns a deferral into a bounce', async () => {
    mta = new Mta();
    await mta.start();
    const id = await mta.inject('sender@here.example', ['joe-soft@here.example']);
    await mta.waitLog(/^delivery \d+: deferral: busy\/$/);
    const birth = Math.floor(statSync(`${mta.qh}/queue/info/${split(id)}`).mtimeMs / 1000);
    // todo/ -> info/ + local/ (INTERNALS): todo and intd gone, mess kept, records as qmail-send writes them
    expect(readFileSync(`${mta.qh}/queue/info/${split(id)}`, 'latin1')).toBe('Fsender@here.example\0');
    expect(readFileSync(`${mta.qh}/queue/local/${split(id)}`, 'latin1')).toBe('Tjoe-soft@here.example\0');
    expect([mta.queueFiles('todo'), mta.queueFiles('intd'), mta.queueFiles('remote'), mta.queueFiles('mess')]).toEqual([[], [], [], [`mess/${split(id)}`]]);
    // ALRM: retried at once
    mta.proc!.kill('SIGALRM');
    const n = mta.log.length;
    await mta.waitLog(new RegExp(`^starting delivery \\d+: msg ${id} to local joe-soft@here.example$`), n);
    await mta.waitLog(/^delivery \d+: deferral: busy\/$/, n);
    expect(await mta.stop()).toBe(0);
    // pqfinish: the next attempt is birth + (floor(sqrt(age)) + 10)^2 (LWQ E.1), age at the last attempt: 100 s
    // when that was within the first second, 121 s within 4 s, ...
    const next = Math.floor(statSync(`${mta.qh}/queue/local/${split(id)}`).mtimeMs / 1000) - birth;
    expect([100, 121, 144, 169]).toContain(next);
    // make the message older than queuelifetime
    mta.control('queuelifetime', '3600\n');
    const old = birth - 7200;
    utimesSync(`${mta.qh}/queue/info/${split(id)}`, old, old);
    utimesSync(`${mta.qh}/queue/local/${split(id)}`, old, old);
    await mta.start();
    await mta.waitLog(new RegExp(`^bounce msg ${id} qp`));
    await mta.waitLog(/^delivery \d+: failure: busy\/I'm_not_going_to_try_again;_this_message_has_been_in_the_queue_too_long.\/$/);
    await until(() => mta!.maildir(mta!.alias).length === 1 && mta!.queueEmpty());
    expect(mta.maildir(mta.alias)[0]).toContain("<joe-soft@here.example>:\nbusy\nI'm not going to try again; this message has been in the queue too long.\n\n");
  });

  it('HUP rereads locals and virtualdomains; virtual users and domains, percenthack, envnoathost', async () => {
    mta = new Mta();
    mta.control('percenthack', 'here.example\n');
    mta.control('envnoathost', 'here.example\n');
    await mta.start({ QMAILREMOTE: '/nonexistent/qmail-remote' });
    mta.control('locals', 'here.example\nother.example\n');
    mta.control('virtualdomains', 'virt.example:joe\nbob@v2.example:joe-vuser\n.sub.example:joe-sub\n');
    mta.proc!.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 1000)); // the handler runs on a later loop turn
    const id = await mta.inject('s@x.example', ['a@other.example', 'info@virt.example', 'bob@v2.example', 'x@deep.sub.example', 'joe', 'joe%here.example@here.example']);
    await mta.waitLog(new RegExp(`^end msg ${id}$`));
    // only lines up to `end msg`: a later message (a bounce) may get the same
    // number, as message numbers are inode numbers and inodes are reused
    const upToEnd = mta.log.slice(0, mta.log.indexOf(`end msg ${id}`));
    const starts = upToEnd.filter((l) => l.startsWith(`starting delivery`) && l.includes(` msg ${id} `)).map((l) => l.replace(/^starting delivery \d+: msg \d+ /, ''));
    expect(starts.sort()).toEqual(
      ['to local a@other.example', 'to local joe-info@virt.example', 'to local joe-vuser-bob@v2.example', 'to local joe-sub-x@deep.sub.example', 'to local joe@here.example', 'to local joe@here.example'].sort(),
    );
  });

  it('runs qmail-remote through qmail-rspawn and reads its r/h/s + K/Z/D reports', async () => {
    mta = new Mta();
    mta.stub('qmail-remote', `#!/bin/sh\ncase "$3" in ok@*) printf 'r%s accepted\\0Kthanks\\0' "$1";; no@*) printf 'hNo such user\\0DGiving up\\0';; *) printf 'Zconnection refused\\0';; esac\nexit 0\n`);
    await mta.start();
    const id = await mta.inject('s@here.example', ['ok@far.example', 'no@far.example', 'later@far.example']);
    await mta.waitLog(/^delivery \d+: deferral: connection_refused$/);
    await mta.waitLog(/^delivery \d+: success: far.example_acceptedthanks$/);
    await mta.waitLog(/^delivery \d+: failure: No_such_userGiving_up$/);
    expect(readFileSync(`${mta.qh}/queue/bounce/${id}`, 'latin1')).toBe('<no@far.example>:\nNo such userGiving up\n\n');
    expect(readFileSync(`${mta.qh}/queue/remote/${split(id)}`, 'latin1')).toBe('Dok@far.example\0Dno@far.example\0Tlater@far.example\0');
  });

  it('kill -9 of qmail-send at random moments loses nothing (at least once), leaves no corrupt entries', async () => {
    mta = new Mta();
    const N = 40;
    const ids: number[] = [];
    let seed = 12345;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let round = 0; round < 8; round++) {
      await mta.start();
      const inj = (async () => {
        for (let k = 0; k < N / 8; k++) ids.push(await mta!.inject('s@x.example', ['joe@here.example', `n${ids.length}@here.example`], `Subject: m${ids.length}\n\nbody ${ids.length}\n`));
      })();
      await new Promise((r) => setTimeout(r, 20 + rnd() * 150));
      await mta.stop('SIGKILL');
      await inj;
    }
    await mta.start();
    await until(() => mta!.queueDone(), 30000).catch((e) => {
      console.log(['mess', 'info', 'local', 'remote', 'todo', 'intd', 'bounce'].map((d) => mta!.queueFiles(d).join(' ')).join('\n'));
      throw e;
    });
    const got = [...mta.maildir(mta.joe), ...mta.maildir(mta.alias)].map((m) => /^Subject: (m\d+)$/m.exec(m)![1]);
    const counts = new Map<string, number>();
    for (const g of got) counts.set(g, (counts.get(g) ?? 0) + 1);
    // each message went to joe and to nK (alias's catch-all)
    for (let k = 0; k < N; k++) expect(counts.get(`m${k}`) ?? 0).toBeGreaterThanOrEqual(2);
    const dups = got.length - 2 * N;
    expect(dups).toBeGreaterThanOrEqual(0);
    console.log(`kill -9 x8: ${N} messages, ${2 * N} deliveries, ${dups} duplicates`);
    expect(await mta.stop()).toBe(0);
  }, 60000);

  it('removes a crashed qmail-queue leftover older than 36 hours at start (no info, no todo)', async () => {
    mta = new Mta();
    const id = await mta.inject('s@x.example', ['joe@here.example']);
    // make it look like qmail-queue died before linking todo: drop todo and intd, age mess
    const { unlinkSync } = await import('node:fs');
    unlinkSync(`${mta.qh}/queue/todo/${id}`);
    const old = Date.now() / 1000 - 130000;
    utimesSync(`${mta.qh}/queue/mess/${split(id)}`, old, old);
    await mta.start();
    await until(() => mta!.queueFiles('mess').length === 0 && mta!.queueFiles('intd').length === 0);
    expect(mta.maildir(mta.joe).length).toBe(0);
  });

  it('TERM lets a delivery in progress finish, then exits 0; a logger gets the log on its stdin', async () => {
    mta = new Mta();
    writeFileSync(`${mta.joe}/.qmail-slow`, '|sleep 1; echo slow done; exit 0\n');
    chownSync(`${mta.joe}/.qmail-slow`, RUN_UID, RUN_GID);
    await mta.start({}, ['sed', '-u', 's/^/LOG /']);
    expect(mta.log[0]).toBe('LOG status: local 0/10 remote 0/20');
    const id = await mta.inject('s@x.example', ['joe-slow@here.example']);
    await mta.waitLog(new RegExp(`^LOG starting delivery 1: msg ${id} to local joe-slow@here.example$`));
    mta.proc!.kill('SIGTERM');
    const code = (await mta.proc!).exitCode;
    mta.proc = undefined;
    expect(code).toBe(0);
    await until(() => mta!.log.includes('LOG status: exiting'));
    const tail = mta.log.slice(-4);
    // the finished delivery's message is ended before the exit, as the original's pass_do() ends it
    // in the loop turn that read the result (its pqdone entry is due within the same second)
    expect(tail).toEqual(['LOG delivery 1: success: slow_done/did_0+0+1/', 'LOG status: local 0/10 remote 0/20 exitasap', `LOG end msg ${id}`, 'LOG status: exiting']);
    expect(mta.maildir(mta.joe).length).toBe(0);
    // the message was done: a restart has nothing left to deliver
    await mta.start();
    await until(() => mta!.queueEmpty());
    expect(mta.log.some((l) => l.startsWith('starting delivery'))).toBe(false);
  });

  it('concurrencylocal limits deliveries in flight; bouncemaxbytes cuts the quoted message', async () => {
    mta = new Mta();
    mta.control('concurrencylocal', '2\n');
    mta.control('bouncemaxbytes', '40\n');
    await mta.start();
    expect(mta.log[0]).toBe('status: local 0/2 remote 0/20');
    const id = await mta.inject('sender@here.example', ['joe@here.example', 'joe-hard@here.example', 'joe@here.example', 'joe@here.example', 'joe@here.example']);
    await mta.waitLog(new RegExp(`^end msg ${id}$`));
    const inflight = mta.log.filter((l) => l.startsWith('status: local ')).map((l) => Number(/local (\d+)\//.exec(l)![1]));
    expect(Math.max(...inflight)).toBe(2);
    await until(() => mta!.maildir(mta!.alias).length === 1);
    const mess = readFileSync(`${mta.joe}/Maildir/new/${readdirSync(`${mta.joe}/Maildir/new`)[0]}`, 'latin1').split('\n').slice(2).join('\n');
    expect(mta.maildir(mta.alias)[0].endsWith(`\n\nReturn-Path: <sender@here.example>\n${mess.slice(0, 40)}`)).toBe(true);
  });

  it('a second qmail-send on the same queue refuses to start; a lost spawner makes qmail-send exit', async () => {
    mta = new Mta();
    await mta.start();
    const second = await execa(ours('qmail-start'), ['./Maildir/'], {
      env: { PATH: process.env.PATH!, QMAILHOME: mta.qh },
      extendEnv: false,
      uid: RUN_UID === process.getuid!() ? undefined : RUN_UID,
      gid: RUN_UID === process.getuid!() ? undefined : RUN_GID,
      reject: false,
      stdin: 'ignore',
    });
    expect([second.exitCode, second.stdout]).toEqual([111, 'alert: cannot start: qmail-send is already running']);
    // kill -9 qmail-lspawn: qmail-send notices, says so, and exits
    const pid = mta.proc!.pid!;
    const read = (f: string): string => {
      try {
        return readFileSync(f, 'latin1');
      } catch {
        return ''; // exited meanwhile
      }
    };
    const kids = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && read(`/proc/${p}/stat`).replace(/^.*\) \S+ /, '').startsWith(`${pid} `));
    const lspawn = kids.find((p) => read(`/proc/${p}/cmdline`).includes('qmail-lspawn'));
    expect(lspawn).toBeDefined();
    process.kill(Number(lspawn), 'SIGKILL');
    const r = await mta.proc!;
    mta.proc = undefined;
    expect(r.exitCode).toBe(0);
    await until(() => mta!.log.includes('status: exiting'));
    expect(mta.log).toContain('alert: oh no! lost spawn connection! dying...');
  });

  it.skipIf(!isRoot)('as root on a queue that is not qmailq\'s (no qmail users, or not theirs): no uid switches, qmail-lspawn delivers through its per-uid workers', async () => {
    mta = new Mta();
    await mta.start({}, [], true);
    const id = await mta.inject('s@x.example', ['joe@here.example', 'joe-hard@here.example']);
    await mta.waitLog(new RegExp(`^end msg ${id}$`));
    expect(mta.log).toContain('delivery 1: success: did_1+0+0/');
    expect(mta.maildir(mta.joe).length).toBe(1);
    expect(statSync(`${mta.joe}/Maildir/new/${readdirSync(`${mta.joe}/Maildir/new`)[0]}`).uid).toBe(RUN_UID);
    expect(await mta.stop()).toBe(0);
  });

  it('at start, a channel file mtime in the future is the next retry time: no attempt until then or ALRM', async () => {
    mta = new Mta();
    await mta.start();
    const id = await mta.inject('sender@here.example', ['joe-soft@here.example']);
    await mta.waitLog(/^delivery \d+: deferral: busy\/$/);
    await mta.stop();
    const later = Date.now() / 1000 + 3600;
    utimesSync(`${mta.qh}/queue/local/${split(id)}`, later, later);
    await mta.start();
    await new Promise((r) => setTimeout(r, 800));
    expect(mta.log.some((l) => l.startsWith('starting delivery'))).toBe(false);
    mta.proc!.kill('SIGALRM');
    await mta.waitLog(new RegExp(`^starting delivery 1: msg ${id} to local joe-soft@here.example$`));
  });

  it('a backlog queued while qmail-send was down is preprocessed and delivered after start', async () => {
    mta = new Mta();
    const N = 150;
    for (let k = 0; k < N; k++) await mta.inject('s@x.example', ['joe@here.example'], `Subject: b${k}\n\nx\n`);
    expect(mta.queueFiles('todo').length).toBe(N);
    await mta.start();
    await until(() => mta!.maildir(mta!.joe).length === N && mta!.queueDone(), 30000);
    expect(mta.log.filter((l) => l.startsWith('new msg ')).length).toBe(N);
    expect(mta.log.filter((l) => l.startsWith('end msg ')).length).toBe(N);
  }, 40000);
});
