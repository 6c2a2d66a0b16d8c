/**
 * queue/qqcodes: qmail-queue's exit codes (qmail-queue(8), "EXIT CODES") and
 * the reply texts qmail's callers derive from them (qmail.c qmail_close(), as
 * qmail-smtpd, qmail-inject, qmail-local's forwarder and qmail-send print
 * them). 0 = queued; 11-40 permanent; every other code temporary. Programs
 * offering the qmail-queue interface (QMAILQUEUE filters) may use 31, 71-74
 * and 82 (custom text on fd 6, `D...` permanent / `Z...` temporary).
 */

/** Exit code constants with qmail-queue(8)'s meanings. */
export const QQ = {
  /** queued */
  OK: 0,
  /** Address too long. (permanent) */
  ADDR_TOO_LONG: 11,
  /** Mail server permanently refuses to send the message to any recipients. (permanent; not used by qmail-queue) */
  PERM_REFUSED: 31,
  /** Out of memory. */
  NOMEM: 51,
  /** Timeout (qmail-queue's 24-hour timer). */
  TIMEOUT: 52,
  /** Write error; e.g., disk full. */
  WRITE: 53,
  /** Unable to read the message or envelope. */
  READ: 54,
  /** Unable to read a configuration file. (not used by qmail-queue) */
  CONFIG: 55,
  /** Problem making a network connection from this host. (not used by qmail-queue) */
  NETWORK: 56,
  /** Problem with the qmail home directory. */
  HOME: 61,
  /** Problem with the queue directory. */
  QUEUE: 62,
  /** Problem with queue/pid. */
  PID: 63,
  /** Problem with queue/mess. */
  MESS: 64,
  /** Problem with queue/intd. */
  INTD: 65,
  /** Problem with queue/todo. */
  TODO: 66,
  /** Mail server temporarily refuses to send the message to any recipients. (not used by qmail-queue) */
  TEMP_REFUSED: 71,
  /** Connection to mail server timed out. (not used by qmail-queue) */
  CONN_TIMEOUT: 72,
  /** Connection to mail server rejected. (not used by qmail-queue) */
  CONN_REJECTED: 73,
  /** Connection to mail server succeeded, but communication failed. (not used by qmail-queue) */
  COMM_FAILED: 74,
  /** Internal bug; e.g., segmentation fault. */
  BUG: 81,
  /** Custom error text on fd 6: `D...` permanent, `Z...` temporary. (not used by qmail-queue) */
  CUSTOM: 82,
  /** Envelope format error. */
  ENVELOPE: 91,
} as const;

/** True for the permanent codes (11-40); everything else but 0 is temporary. */
export function qqPermanent(code: number): boolean {
  return code >= 11 && code <= 40;
}

/**
 * The caller's reply for a qmail-queue exit code, qmail_close()'s strings:
 * '' for success, else `D<text>` (permanent) or `Z<text>` (temporary).
 * `custom` is what the child wrote on fd 6 (used for code 82 when longer
 * than 2 bytes); `crashed` is true when the child died from a signal.
 * Codes 75-79 and others not listed fall to the 11-40 / default rule.
 */
export function qqReply(code: number, custom = '', crashed = false): string {
  if (crashed) return 'Zqq crashed (#4.3.0)';
  switch (code) {
    case 0:
      return '';
    case 115:
    case 11:
      return 'Denvelope address too long for qq (#5.1.3)';
    case 31:
      return 'Dmail server permanently rejected message (#5.3.0)';
    case 51:
      return 'Zqq out of memory (#4.3.0)';
    case 52:
      return 'Zqq timeout (#4.3.0)';
    case 53:
      return 'Zqq write error or disk full (#4.3.0)';
    case 54:
      return 'Zqq read error (#4.3.0)';
    case 55:
      return 'Zqq unable to read configuration (#4.3.0)';
    case 56:
      return 'Zqq trouble making network connection (#4.3.0)';
    case 61:
      return 'Zqq trouble in home directory (#4.3.0)';
    case 62:
    case 63:
    case 64:
    case 65:
    case 66:
      return 'Zqq trouble creating files in queue (#4.3.0)';
    case 71:
      return 'Zmail server temporarily rejected message (#4.3.0)';
    case 72:
      return 'Zconnection to mail server timed out (#4.4.1)';
    case 73:
      return 'Zconnection to mail server rejected (#4.4.1)';
    case 74:
      return 'Zcommunication with mail server failed (#4.4.2)';
    case 81:
    case 91:
      return 'Zqq internal bug (#4.3.0)';
    case 120:
      return 'Zunable to exec qq (#4.3.0)';
    default:
      if (code === 82 && custom.length > 2) return custom;
      if (qqPermanent(code)) return 'Dqq permanent problem (#5.3.0)';
      return 'Zqq temporary problem (#4.3.0)';
  }
}
