/**
 * deliver/errtemp: which errno values qmail counts as temporary
 * (error_temp.c): a delivery failing with one of these is deferred and
 * retried; any other is a hard error for the step at hand (e.g. a missing
 * maildir: "Unable to chdir to maildir. (#4.2.1)", still deferred by
 * qmail-local, but reported differently).
 */
const TEMP = new Set([
  'EINTR', 'ENOMEM', 'ETXTBSY', 'EIO', 'ETIMEDOUT', 'EWOULDBLOCK', 'EAGAIN', 'EDEADLK', 'EBUSY',
  'ENFILE', 'EMFILE', 'EFBIG', 'ENOSPC', 'ENETDOWN', 'ENETUNREACH', 'ENETRESET', 'ECONNABORTED',
  'ECONNRESET', 'ENOBUFS', 'ETOOMANYREFS', 'ECONNREFUSED', 'EHOSTDOWN', 'EHOSTUNREACH', 'EPROCLIM',
  'EUSERS', 'EDQUOT', 'ESTALE', 'ENOLCK',
]);

/** True when the errno name (e.g. 'ENOSPC') is one of qmail's temporary errors. */
export function isTempErrno(code: string | undefined): boolean {
  return code !== undefined && TEMP.has(code);
}
