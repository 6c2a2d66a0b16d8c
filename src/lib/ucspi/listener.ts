/**
 * listener: a listening TCP socket whose accepting can be paused, so that
 * tcpserver's `-c` limit leaves further clients waiting in the kernel's
 * backlog as the original does (it simply stops calling accept()).
 *
 * Node cannot stop accepting on a net.Server, so the listening socket is kept
 * alive by a private duplicate descriptor: pausing closes the net.Server
 * (its descriptor only; the socket and its backlog live on in the
 * duplicate), resuming opens a new net.Server on a fresh duplicate. Closing
 * the server inside its connection callback also stops libuv's accept loop
 * at once, so never more than `limit` connections are taken.
 *
 * Connections are half-open capable (a client's FIN is EOF on the program's
 * input, its output stays open) and start paused (nothing is read before
 * the program is known), as a forked child would have them.
 *
 * Public: class Listener { static open(opts), address, port, pause(),
 * resume(), close() }. open() rejects with the bind/listen error
 * (EADDRINUSE, EADDRNOTAVAIL, EACCES, ...).
 */
import { closeSync, openSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { sys } from '../native.ts';

export interface ListenOptions {
  host: string;
  port: number;
  backlog: number;
  /** for `::`: accept IPv6 only (no v4-mapped clients) */
  ipv6Only?: boolean;
  onConnection: (s: Socket) => void;
}

/** A new descriptor number referring to the same open socket as fd (close-on-exec). */
function dupCloexec(fd: number): number {
  const n = openSync('/dev/null', 'r');
  sys.dup2(fd, n);
  sys.cloexec(n, true);
  return n;
}

export class Listener {
  private server: Server | undefined;
  private readonly keep: number;
  private readonly opts: ListenOptions;
  /** the bound address and port */
  readonly address: string;
  readonly port: number;

  private constructor(server: Server, keep: number, opts: ListenOptions) {
    this.server = server;
    this.keep = keep;
    this.opts = opts;
    const a = server.address();
    if (a === null || typeof a === 'string') throw new Error('not a TCP server');
    this.address = a.address;
    this.port = a.port;
  }

  /** Bind (SO_REUSEADDR, as Node/libuv always set it) and listen. */
  static open(opts: ListenOptions): Promise<Listener> {
    return new Promise((resolve, reject) => {
      const server = createServer({ pauseOnConnect: true, allowHalfOpen: true });
      server.once('error', reject);
      server.listen({ host: opts.host, port: opts.port, backlog: opts.backlog, ipv6Only: opts.ipv6Only ?? false, exclusive: true }, () => {
        server.removeListener('error', reject);
        const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
        const l = new Listener(server, dupCloexec(fd), opts);
        server.on('connection', opts.onConnection);
        resolve(l);
      });
    });
  }

  /** True while connections are being accepted. */
  get accepting(): boolean {
    return this.server !== undefined;
  }

  /** Stop accepting; clients queue in the backlog. */
  pause(): void {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    s.close();
  }

  /** Accept again. */
  resume(): void {
    if (this.server) return;
    const s = createServer({ pauseOnConnect: true, allowHalfOpen: true }, this.opts.onConnection);
    s.on('error', () => {
      /* accept errors (EMFILE, ...) are retried by libuv */
    });
    s.listen({ fd: dupCloexec(this.keep), backlog: this.opts.backlog });
    this.server = s;
  }

  /** Stop accepting and close the socket for good. */
  close(): void {
    this.pause();
    try {
      closeSync(this.keep);
    } catch {
      /* already closed */
    }
  }
}
