/**
 * server: tcpserver's accept loop and per-connection work (tcpserver(1),
 * ../shared/FORMATS.md section 8; issue 3 "Performance design").
 *
 * Control flow. The Listener accepts; each connection counts against the
 * `-c` limit from accept until its program ends (`status: N/LIMIT` after
 * every accept and every end); at the limit the Listener pauses and clients
 * wait in the kernel backlog. A connection then goes through, in the
 * original's order: find the program (PATH search with tcpserver's own
 * PATH), TCP_NODELAY (-D), the banner (-B, before any lookup), the DNS and
 * ident lookups (in parallel; see tcpenv.ts), the environment edits
 * (PROTO/TCP*, then the rule's variables in pathexec_env order), the rules
 * (-x: the cdb is opened afresh for every connection, so a new tcprules
 * output takes effect at once; missing file -> drop unless -X), the
 * `ok`/`deny` log line, then the program:
 *
 *  - one of our opted-in programs (inprocess.ts): its main runs in this
 *    process with ctx.stdin = ctx.stdout = the socket, ctx.env = the computed
 *    environment, ctx.stderr = tcpserver's stderr; a pseudo-pid (4194305 and
 *    up) stands for the pid in every log line of the session and is what
 *    the program logs as its own. When main returns, the socket is ended
 *    (FIN once the output is flushed) and closed. An exception, sync or from
 *    one of the session's callbacks or promises (traced with
 *    AsyncLocalStorage), ends that session only (status 111); process.exit(n)
 *    inside a session ends just that session with status n.
 *    A session still running a minute (abandonAfter) after its client went
 *    away is given up: connection closed, `end PID status 9` (as if killed).
 *  - anything else: posix_spawn (chain.ts spawnOnFd -> child.ts; no fork of
 *    the Node process, reaped on SIGCHLD) with the socket as fds 0 and 1
 *    (made blocking), fd 2 inherited; tcpserver then closes its copy. An
 *    exec failure (ENOENT, EACCES, ENOEXEC...) comes back from the spawn
 *    and gives the `unable to run` warning and `end PID status 28416`.
 *    Its `pid N from IP` and `ok` lines carry the child's real pid and are
 *    written right after the spawn (the original's child writes them before
 *    its lookups; the content is the same, only the moment differs).
 *
 * Connections refused before a program runs (deny, rules unreadable, program
 * not found) get a pseudo-pid for their `pid`/`deny`/`end` lines, with the
 * statuses the original's child would have had (deny 25600, drop 28416).
 *
 * Log lines (verbosity 2, -v): `tcpserver: status: N/LIMIT`, `tcpserver: pid
 * PID from IP`, `tcpserver: ok|deny PID ...`, `tcpserver: end PID status W`;
 * warnings (verbosity >= 1): `tcpserver: warning: dropping connection,
 * unable to read RULES: <err>` / `unable to run PROG: <err>`.
 *
 * SIGTERM: stop accepting at once; exit 0 when no connection is still being
 * handled inside this process (external children are left running, as the
 * original leaves its children).
 */
import type { Socket } from 'node:net';
import { Cdb } from '../cdb.ts';
import { rulesLookup, decodeRule } from '../rules.ts';
import { applyEnv, type EnvEdit } from '../pathexec.ts';
import { errstr } from '../errstr.ts';
import { errline } from '../strerr.ts';
import { envObject, findProgram, socketFd, spawnOnFd } from '../chain.ts';
import { bindSession, currentSession, guardProcess, inProcessMain, newPseudoPid, runMain, type Session } from '../inprocess.ts';
import type { Ctx, Main } from '../program.ts';
import { Listener } from './listener.ts';
import { connLine } from './logline.ts';
import { gather, ipText, tcpEdits } from './tcpenv.ts';

export interface ServerConfig {
  /** the program and its arguments */
  argv: string[];
  /** -c (default 40) */
  limit: number;
  /** -x */
  rules?: string;
  /** -X */
  allowNoRules: boolean;
  /** -B ('' = none) */
  banner: string;
  /** -l */
  localName?: string;
  /** -h / -H */
  remoteHost: boolean;
  /** -p / -P */
  paranoid: boolean;
  /** -r / -R */
  remoteInfo: boolean;
  /** -t, seconds */
  identTimeout: number;
  /** -D: TCP_NODELAY */
  noDelay: boolean;
  /** 0 (-q), 1 (-Q, default), 2 (-v) */
  verbosity: number;
  /** tcpserver's own environment (the base of every program's) */
  env: Record<string, string | undefined>;
  /**
   * How argv[0] becomes a program: its path and, for an opted-in program of
   * ours, its main. Default: findProgram on tcpserver's PATH + inProcessMain.
   * Throws the errno error of the search. (Tests plug in their own mains.)
   */
  resolveProgram?: (name: string) => Promise<ProgramRef>;
  /**
   * Milliseconds an in-process session may go on after its client has gone
   * (EOF on input or the connection closed) before tcpserver stops waiting,
   * closes the connection and reports it as killed (`end PID status 9`), so
   * a program that ignores its connection cannot hold a -c slot forever.
   * Default 60 000.
   */
  abandonAfter?: number;
}

/** A program to run: where it is, and its main when it runs in-process. */
export interface ProgramRef {
  path: string;
  main?: Main;
}

/** The default resolveProgram (see ServerConfig). */
async function defaultResolve(env: Record<string, string | undefined>, name: string): Promise<ProgramRef> {
  const path = findProgram(name, env.PATH);
  return { path, main: await inProcessMain(path) };
}

/** Write `await`-able bytes to a socket; resolves false on error. */
function writeOut(s: Socket, text: string): Promise<boolean> {
  return new Promise((resolve) => {
    s.write(Buffer.from(text, 'latin1'), (err) => resolve(!err));
  });
}

/** Ends a socket after its output is flushed, then closes it (what exit(2) does to fds). */
function closeAfterFlush(s: Socket): void {
  if (!s.destroyed) s.destroySoon();
}

type RulesAnswer = { kind: 'ok'; deny: boolean; env: EnvEdit[] } | { kind: 'drop'; err: unknown };

export class TcpServer {
  private readonly cfg: ServerConfig;
  private listener: Listener | undefined;
  /** connections accepted and not yet ended (the `N` of `status: N/LIMIT`) */
  private active = 0;
  /** connections whose work still runs in this process (lookups, in-process programs) */
  private local = 0;
  private stopping = false;
  private onIdle: (() => void) | undefined;

  constructor(cfg: ServerConfig) {
    this.cfg = cfg;
  }

  private log(line: string): void {
    if (this.cfg.verbosity >= 2) errline(line);
  }

  private warn(line: string): void {
    if (this.cfg.verbosity >= 1) errline(`tcpserver: warning: dropping connection, ${line}`);
  }

  private status(): void {
    this.log(`tcpserver: status: ${this.active}/${this.cfg.limit}`);
  }

  /** Start accepting on an open listener; resolves when SIGTERM has stopped the server. */
  serve(listener: Listener): Promise<void> {
    this.listener = listener;
    this.status();
    const crash = (e: unknown): void => {
      const cur = currentSession.getStore();
      if (cur) cur.fail(e);
      else if (this.cfg.verbosity >= 1) errline(`tcpserver: warning: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    };
    process.on('uncaughtException', crash);
    process.on('unhandledRejection', crash);
    guardProcess();
    return new Promise((resolve) => {
      this.onIdle = resolve;
      process.on('SIGTERM', () => {
        this.stopping = true;
        this.listener?.close();
        if (this.local === 0) resolve();
      });
      if (this.active < this.cfg.limit) listener.resume();
    });
  }

  /** The Listener's connection callback. */
  readonly accept = (s: Socket): void => {
    s.on('error', () => {
      /* the program sees the failure on its own reads and writes */
    });
    if (this.stopping) {
      s.destroy();
      return;
    }
    this.active++;
    this.status();
    if (this.active >= this.cfg.limit) this.listener?.pause();
    this.local++;
    let external = false;
    this.handle(s, () => {
      // the program now runs in a child: the connection no longer keeps us alive
      external = true;
      this.localDone();
    })
      .catch((e) => this.warn(`internal error: ${errstr(e)}`))
      .finally(() => {
        if (!external) this.localDone();
        this.active--;
        this.status();
        if (!this.stopping && this.active < this.cfg.limit) this.listener?.resume();
      });
  };

  private localDone(): void {
    this.local--;
    if (this.stopping && this.local === 0) this.onIdle?.();
  }

  private rulesFor(ip: string, host: string | undefined, info: string | undefined): RulesAnswer | undefined {
    const path = this.cfg.rules;
    if (path === undefined) return undefined;
    let db: Cdb;
    try {
      db = Cdb.open(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && this.cfg.allowNoRules) return undefined;
      return { kind: 'drop', err: e };
    }
    try {
      const hit = rulesLookup(db, ip, host, info);
      if (!hit) return { kind: 'ok', deny: false, env: [] };
      const d = decodeRule(hit.value, 'latin1');
      return { kind: 'ok', deny: d.deny, env: d.env.map(([name, value]) => ({ name, value })) };
    } catch (e) {
      return { kind: 'drop', err: e };
    } finally {
      db.close();
    }
  }

  /** One connection, from accept to the end of its program; gone() is called once a child owns it. */
  private async handle(s: Socket, gone: () => void): Promise<void> {
    const cfg = this.cfg;
    const remoteIp = ipText(s.remoteAddress);
    const remotePort = String(s.remotePort ?? 0);
    const localIp = ipText(s.localAddress);
    const localPort = String(s.localPort ?? 0);

    let path: string | undefined;
    let runErr: unknown;
    let main: Main | undefined;
    try {
      ({ path, main } = await (cfg.resolveProgram ?? ((n: string) => defaultResolve(cfg.env, n)))(cfg.argv[0]));
    } catch (e) {
      runErr = e;
    }
    let pid: number | undefined;
    const pseudo = (): number => {
      if (pid === undefined) {
        pid = newPseudoPid();
        this.log(`tcpserver: pid ${pid} from ${remoteIp}`);
      }
      return pid;
    };
    const end = (p: number, w: number): void => this.log(`tcpserver: end ${p} status ${w}`);
    if (main || runErr) pseudo();

    if (cfg.noDelay) s.setNoDelay(true);
    if (cfg.banner !== '') await writeOut(s, cfg.banner);

    const f = await gather({
      env: cfg.env,
      localIp,
      localPort,
      remoteIp,
      remotePort,
      localName: cfg.localName,
      remoteHost: cfg.remoteHost,
      paranoid: cfg.paranoid,
      remoteInfo: cfg.remoteInfo,
      identTimeout: cfg.identTimeout,
    });
    const edits = tcpEdits(f);
    const rules = this.rulesFor(remoteIp, f.remoteHost, f.remoteInfo);
    if (rules?.kind === 'drop') {
      const p = pseudo();
      this.warn(`unable to read ${cfg.rules}: ${errstr(rules.err)}`);
      s.destroy();
      end(p, 111 << 8);
      return;
    }
    if (rules) edits.push(...rules.env);
    if (rules?.deny) {
      const p = pseudo();
      this.log(connLine('deny', p, f));
      s.destroy();
      end(p, 100 << 8);
      return;
    }
    const envp = applyEnv(cfg.env, edits);

    if (runErr !== undefined || path === undefined) {
      const p = pseudo();
      this.log(connLine('ok', p, f));
      this.warn(`unable to run ${cfg.argv[0]}: ${errstr(runErr)}`);
      s.destroy();
      end(p, 111 << 8);
      return;
    }
    if (main) {
      await this.runInProcess(main, s, pseudo(), f, envp);
      return;
    }
    await this.runExternal(path, s, envp, f, gone);
  }

  private async runInProcess(main: Main, s: Socket, pid: number, f: Parameters<typeof connLine>[2], envp: string[]): Promise<void> {
    this.log(connLine('ok', pid, f));
    // pauseOnConnect left the socket explicitly paused; back to the initial
    // state, in which a program's 'data' listener or read() starts the flow
    (s as unknown as { _readableState: { flowing: boolean | null } })._readableState.flowing = null;
    const session: Session = { pid, socket: s };
    const ctx: Ctx = { argv: this.cfg.argv.slice(), env: envObject(envp), cwd: process.cwd(), stdin: s, stdout: s, stderr: process.stderr };
    bindSession(ctx, session);
    let timer: NodeJS.Timeout | undefined;
    const start = (): void => {
      timer ??= setTimeout(() => resolveAbandoned(9), this.cfg.abandonAfter ?? 60_000);
    };
    let resolveAbandoned: (w: number) => void = () => undefined;
    const abandoned = new Promise<number>((resolve) => {
      resolveAbandoned = resolve;
      s.once('end', start);
      s.once('close', start);
    });
    const w = await Promise.race([runMain(main, ctx), abandoned]);
    clearTimeout(timer);
    // the socket's close comes after the session: a timer started then would keep the session for a minute
    s.off('end', start);
    s.off('close', start);
    if (w === 9) s.destroy();
    closeAfterFlush(s);
    this.log(`tcpserver: end ${pid} status ${w}`);
  }

  private async runExternal(path: string, s: Socket, envp: string[], f: Parameters<typeof connLine>[2], gone: () => void): Promise<void> {
    const fd = socketFd(s);
    let pid: number | undefined;
    let w: number;
    try {
      if (fd === undefined) throw Object.assign(new Error('EBADF'), { code: 'EBADF' });
      w = await spawnOnFd(path, this.cfg.argv, envp, fd, (p) => {
        pid = p;
        this.log(`tcpserver: pid ${p} from ${f.remoteIp}`);
        this.log(connLine('ok', p, f));
        s.destroy();
        gone();
      });
    } catch (e) {
      const p = newPseudoPid();
      this.log(`tcpserver: pid ${p} from ${f.remoteIp}`);
      this.log(connLine('ok', p, f));
      this.warn(`unable to run ${this.cfg.argv[0]}: ${errstr(e)}`);
      s.destroy();
      this.log(`tcpserver: end ${p} status ${111 << 8}`);
      return;
    }
    this.log(`tcpserver: end ${pid} status ${w}`);
  }
}
