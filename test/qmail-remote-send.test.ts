/**
 * End to end: qmail-send -> qmail-rspawn -> our qmail-remote (QMAILREMOTE)
 * -> a scripted SMTP sink reached through control/smtproutes. One delivery
 * accepted, one refused permanently (bounce text from qmail-remote's
 * report), one deferred.
 */
import { describe, expect, it, afterEach } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { ours, until } from './helpers.ts';
import { Mta } from './send-helpers.ts';
import { NOBODY_BLOCKED } from './local-helpers.ts';
import { smtpSink, type Sink } from './remote-helpers.ts';

let mta: Mta | undefined;
let sink: Sink | undefined;
afterEach(async () => {
  if (mta?.proc) await mta.stop();
  mta = undefined;
  await sink?.close();
  sink = undefined;
});

describe.skipIf(!!NOBODY_BLOCKED)('qmail-send with our qmail-remote', () => {
  it('delivers to the sink, bounces a refused recipient with the remote text, defers a 4xx one', async () => {
    sink = await smtpSink({ rcpt: (a) => (a.startsWith('<bad@') ? '550 5.1.1 no such user' : a.startsWith('<later@') ? '451 4.3.0 try again' : '250 ok') });
    mta = new Mta();
    mta.control('smtproutes', `far.example:[${sink.ip}]:${sink.port}\n`);
    await mta.start({ QMAILREMOTE: ours('qmail-remote') });
    const id = await mta.inject('s@here.example', ['ok@far.example', 'bad@far.example', 'later@far.example'], 'Subject: e2e\n\n.dot line\nbody\n');
    const ip = sink.ip.replaceAll('.', '\\.');
    await mta.waitLog(new RegExp(`^delivery \\d+: success: ${ip}_accepted_message\\./Remote_host_said:_250_ok_queued/$`));
    await mta.waitLog(new RegExp(`^delivery \\d+: failure: ${ip}_does_not_like_recipient\\./Remote_host_said:_550_5\\.1\\.1_no_such_user/Giving_up_on_${ip}\\./$`));
    await mta.waitLog(new RegExp(`^delivery \\d+: deferral: ${ip}_does_not_like_recipient\\./Remote_host_said:_451_4\\.3\\.0_try_again/Giving_up_on_${ip}\\./$`));
    expect(sink.messages.length).toBe(1);
    expect(sink.messages[0].toString('latin1')).toMatch(/\r\nSubject: e2e\r\n\r\n\.\.dot line\r\nbody\r\n\.\r\n$/);
    // the bounce waits in queue/bounce while a recipient is still deferred (qmail-send's rule)
    const bf = `${mta.qh}/queue/bounce/${id}`;
    await until(() => existsSync(bf));
    expect(readFileSync(bf, 'latin1')).toBe(`<bad@far.example>:\n${sink.ip} does not like recipient.\nRemote host said: 550 5.1.1 no such user\nGiving up on ${sink.ip}.\n\n`);
  });
});
