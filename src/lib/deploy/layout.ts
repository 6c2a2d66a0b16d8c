/**
 * deploy/layout: where a qmail installation's parts live, LWQ's paths made
 * relative to a configurable qmail home and service directory.
 *
 *   LWQ                     system install (qmailctl setup)   embedded (npm start, DIR)
 *   /var/qmail              $QMAILHOME or /var/qmail          DIR/qmail
 *   /service                $QMAIL_SERVICE or /service        DIR/service
 *   /var/log/qmail          $QMAIL_LOG or /var/log/qmail      DIR/log/qmail
 *   /etc/tcp.smtp           $QMAIL_TCPSMTP or /etc/tcp.smtp   DIR/etc/tcp.smtp
 *
 * The same environment variables are what the top-level `qmailctl` script
 * reads, so a layout and the script always agree.
 */
import { resolve } from 'node:path';
import { qmailHome } from '../qmailhome.ts';

/** Absolute paths of one installation. */
export interface Layout {
  /** the qmail home (control/, alias/, users/, queue/, supervise/, bin/, rc) */
  home: string;
  /** the directory svscan watches */
  service: string;
  /** multilog's directory for qmail-send; smtpd/ and pop3d/ below it */
  log: string;
  /** tcpserver's rules for SMTP (the text; `.cdb` and `.tmp` beside it) */
  tcpsmtp: string;
}

/** The system install's layout from a program's environment. */
export function systemLayout(env: Record<string, string | undefined>): Layout {
  const v = (k: string, d: string): string => resolve(env[k] !== undefined && env[k] !== '' ? env[k] : d);
  return {
    home: resolve(qmailHome(env)),
    service: v('QMAIL_SERVICE', '/service'),
    log: v('QMAIL_LOG', '/var/log/qmail'),
    tcpsmtp: v('QMAIL_TCPSMTP', '/etc/tcp.smtp'),
  };
}

/** The embedded default's layout under one folder. */
export function embeddedLayout(dir: string): Layout {
  const d = resolve(dir);
  return { home: `${d}/qmail`, service: `${d}/service`, log: `${d}/log/qmail`, tcpsmtp: `${d}/etc/tcp.smtp` };
}

/** The environment that points qmailctl and every program at a layout. */
export function layoutEnv(l: Layout): Record<string, string> {
  return { QMAILHOME: l.home, QMAIL_SERVICE: l.service, QMAIL_LOG: l.log, QMAIL_TCPSMTP: l.tcpsmtp };
}
