/**
 * qmailhome: where the qmail tree lives (conf-qmail; LWQ D.2). `/var/qmail`
 * by default, as the original; the environment variable QMAILHOME overrides
 * it when set and non-empty, so the embedded default, tests and several
 * instances on one host need no rebuild. This is the ONE module that reads
 * QMAILHOME: every program passes its ctx.env here (never process.env), so a
 * program run in-process by a server sees the server's chosen environment.
 */

/** The compiled-in default, qmail's conf-qmail. */
export const DEFAULT_QMAILHOME = '/var/qmail';

/**
 * The qmail home for a program's environment: env.QMAILHOME when set and
 * non-empty, else /var/qmail. The value is used as given (relative paths are
 * the caller's business; qmail's own auto_qmail is always absolute).
 */
export function qmailHome(env: Record<string, string | undefined>): string {
  const h = env.QMAILHOME;
  return h !== undefined && h !== '' ? h : DEFAULT_QMAILHOME;
}
