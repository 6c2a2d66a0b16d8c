/**
 * Helpers for the ucspi-tcp tests: run a tcpserver (ours or Debian's) on a
 * free port of 127.0.0.1 and read its `-1` port and log, talk to it, and a
 * tiny DNS server (dns-packet over UDP) on a 127.x address for DNSCACHEIP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as Udp } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';

export interface Running {
  child: ChildProcess;
  port: number;
  /** everything written on stderr so far */
  log(): string;
  /** SIGTERM and wait for the exit (SIGKILL after 3 s) */
  stop(): Promise<void>;
}

/** Start `bin [pre...] -1 args...` and wait for the port on its stdout. */
export function startServer(bin: string, args: string[], env: NodeJS.ProcessEnv = process.env, pre: string[] = []): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [...pre, '-1', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let out = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString('latin1')));
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    child.on('exit', (code) => reject(new Error(`${bin} exited ${code}: ${err}`)));
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /^(\d+)\n/.exec(out);
      if (m)
        resolve({
          child,
          port: Number(m[1]),
          log: () => err,
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), 3000);
            await exited;
            clearTimeout(t);
          },
        });
    });
  });
}

/** Connect, write input (then half-close unless keepOpen), collect everything until the server closes. */
export function talk(port: number, input = '', host = '127.0.0.1', keepOpen = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    let got = '';
    s.on('data', (b) => (got += b.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.on('connect', () => {
      if (input) s.write(input);
      if (!keepOpen) s.end();
    });
  });
}

export interface Zone {
  ptr?: Record<string, string>;
  a?: Record<string, string[]>;
  aaaa?: Record<string, string[]>;
  txt?: Record<string, string[]>;
  /** names answered with SERVFAIL */
  fail?: string[];
}

export interface DnsServer {
  ip: string;
  queries: string[];
  close(): Promise<void>;
}

/**
 * A DNS server on ip:53 (a 127.x address, so it does not clash with other
 * tests) answering from zone; unknown names get NXDOMAIN.
 */
export function dnsServer(zone: Zone, ip = `127.53.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`): Promise<DnsServer> {
  return new Promise((resolve, reject) => {
    const sock: Udp = createSocket('udp4');
    const queries: string[] = [];
    sock.on('message', (msg, rinfo) => {
      let q;
      try {
        q = dnsPacket.decode(msg);
      } catch {
        return;
      }
      const question = q.questions?.[0];
      if (!question) return;
      const name = question.name.toLowerCase();
      queries.push(`${question.type} ${name}`);
      const answers: dnsPacket.Answer[] = [];
      let rcode: 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' = 'NXDOMAIN';
      if (zone.fail?.includes(name)) rcode = 'SERVFAIL';
      else if (question.type === 'PTR' && zone.ptr?.[name] !== undefined) {
        answers.push({ type: 'PTR', name: question.name, ttl: 60, class: 'IN', data: zone.ptr[name] });
      } else if (question.type === 'A' && zone.a?.[name]) {
        for (const d of zone.a[name]) answers.push({ type: 'A', name: question.name, ttl: 60, class: 'IN', data: d });
      } else if (question.type === 'AAAA' && zone.aaaa?.[name]) {
        for (const d of zone.aaaa[name]) answers.push({ type: 'AAAA', name: question.name, ttl: 60, class: 'IN', data: d });
      } else if (question.type === 'TXT' && zone.txt?.[name]) {
        answers.push({ type: 'TXT', name: question.name, ttl: 60, class: 'IN', data: zone.txt[name] });
      }
      if (answers.length > 0) rcode = 'NOERROR';
      const known = [zone.ptr, zone.a, zone.aaaa, zone.txt].some((z) => z && name in z);
      if (rcode === 'NXDOMAIN' && known) rcode = 'NOERROR';
      const reply = dnsPacket.encode({
        type: 'response',
        id: q.id,
        flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (rcode === 'SERVFAIL' ? 2 : rcode === 'NXDOMAIN' ? 3 : 0),
        questions: q.questions,
        answers,
      });
      sock.send(reply, rinfo.port, rinfo.address);
    });
    sock.once('error', reject);
    sock.bind(53, ip, () => resolve({ ip, queries, close: () => new Promise((r) => sock.close(() => r())) }));
  });
}

/** Replace pids and ephemeral ports in tcpserver log lines so two runs compare. */
export function normLog(log: string, ports: number[] = []): string {
  let s = log;
  for (const p of ports) s = s.split(String(p)).join('PORT');
  return s
    .replace(/tcpserver: (pid|ok|deny|end) \d+/g, 'tcpserver: $1 PID')
    .replace(/(:127\.0\.0\.1:[^:\n]*:)\d+$/gm, '$1RPORT')
    .replace(/pid \d+:/g, 'pid PID:');
}
