/**
 * test/dns-server: a tiny authoritative DNS server over UDP on a 127.x
 * address (dns-packet), for tests of programs that look names up
 * (tcpserver -h, tcpclient, rblsmtpd, qmail-remote's MX lookups).
 */
import { createSocket, type Socket as Udp } from 'node:dgram';
import dnsPacket from 'dns-packet';

export interface Zone {
  mx?: Record<string, Array<[number, string]>>;
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
 * tests) answering MX, PTR, A, AAAA and TXT from zone; a name in zone
 * without records of the asked type gets an empty NOERROR answer, unknown
 * names get NXDOMAIN, names in zone.fail SERVFAIL. Every question is
 * recorded in queries as `TYPE name`.
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
      else if (question.type === 'MX' && zone.mx?.[name]) {
        for (const [p, x] of zone.mx[name]) answers.push({ type: 'MX', name: question.name, ttl: 60, class: 'IN', data: { preference: p, exchange: x } });
      } else if (question.type === 'PTR' && zone.ptr?.[name] !== undefined) {
        answers.push({ type: 'PTR', name: question.name, ttl: 60, class: 'IN', data: zone.ptr[name] });
      } else if (question.type === 'A' && zone.a?.[name]) {
        for (const d of zone.a[name]) answers.push({ type: 'A', name: question.name, ttl: 60, class: 'IN', data: d });
      } else if (question.type === 'AAAA' && zone.aaaa?.[name]) {
        for (const d of zone.aaaa[name]) answers.push({ type: 'AAAA', name: question.name, ttl: 60, class: 'IN', data: d });
      } else if (question.type === 'TXT' && zone.txt?.[name]) {
        answers.push({ type: 'TXT', name: question.name, ttl: 60, class: 'IN', data: zone.txt[name] });
      }
      if (answers.length > 0) rcode = 'NOERROR';
      const known = [zone.mx, zone.ptr, zone.a, zone.aaaa, zone.txt].some((z) => z && name in z);
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
