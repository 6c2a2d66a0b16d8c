/**
 * errstr: D. J. Bernstein's short error phrases (error_str.c in daemontools 0.76
 * and ucspi-tcp 0.88), which every program here prints after `: ` instead of
 * strerror(). Source: ../shared/FORMATS.md section 0.
 */

const PHRASES: Record<string, string> = {
  EINTR: 'interrupted system call',
  ENOMEM: 'out of memory',
  ENOENT: 'file does not exist',
  ETXTBSY: 'text busy',
  E2BIG: 'argument list too long',
  ENOEXEC: 'exec format error',
  EIO: 'input/output error',
  EEXIST: 'file already exists',
  ETIMEDOUT: 'timed out',
  EINPROGRESS: 'operation in progress',
  EAGAIN: 'temporary failure',
  EWOULDBLOCK: 'temporary failure',
  EPIPE: 'broken pipe',
  EPERM: 'permission denied',
  EACCES: 'access denied',
  ENXIO: 'device not configured',
  EPROTO: 'protocol error',
  EISDIR: 'is a directory',
  ESPIPE: 'unseekable descriptor',
  ENOTDIR: 'not a directory',
  ESRCH: 'no such process',
  EBADF: 'file descriptor not open',
  ECHILD: 'no child processes',
  EFAULT: 'bad address',
  EBUSY: 'device busy',
  EXDEV: 'cross-device link',
  ENODEV: 'device does not support operation',
  EINVAL: 'invalid argument',
  ENFILE: 'system cannot open more files',
  EMFILE: 'process cannot open more files',
  ENOTTY: 'not a tty',
  EFBIG: 'file too big',
  ENOSPC: 'out of disk space',
  EROFS: 'read-only file system',
  EMLINK: 'too many links',
  EDOM: 'input out of range',
  ERANGE: 'output out of range',
  EDEADLK: 'operation would cause deadlock',
  ENOLCK: 'no locks available',
  ENOSYS: 'system call not available',
  ENOTEMPTY: 'directory not empty',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'file name too long',
  ENOTSOCK: 'not a socket',
  EADDRINUSE: 'address already used',
  EADDRNOTAVAIL: 'address not available',
  ENETDOWN: 'network down',
  ENETUNREACH: 'network unreachable',
  ECONNABORTED: 'connection aborted',
  ECONNRESET: 'connection reset',
  ENOBUFS: 'out of buffer space',
  EISCONN: 'already connected',
  ENOTCONN: 'not connected',
  ECONNREFUSED: 'connection refused',
  EHOSTDOWN: 'host down',
  EHOSTUNREACH: 'host unreachable',
  EALREADY: 'operation already in progress',
  EDQUOT: 'disk quota exceeded',
  ESTALE: 'stale NFS file handle',
  EPROTONOSUPPORT: 'protocol not supported',
  EAFNOSUPPORT: 'address family not supported',
  EOPNOTSUPP: 'operation not supported',
  EMSGSIZE: 'message too long',
  ENOTBLK: 'not a block device',
};

/** The errno name carried by a Node/native error ("ENOENT"), or undefined. */
export function errCode(e: unknown): string | undefined {
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    return (e as { code: string }).code;
  }
  return undefined;
}

/**
 * DJB's phrase for an error thrown by fs/net/native calls, e.g. ENOENT ->
 * "file does not exist". Unknown codes fall back to `error N`-style text.
 */
export function errstr(e: unknown): string {
  const code = errCode(e);
  if (code && PHRASES[code]) return PHRASES[code];
  if (code) return code.toLowerCase();
  return e instanceof Error ? e.message : String(e);
}
