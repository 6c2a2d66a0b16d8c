/**
 * nodefs: node:fs loaded with require() instead of an ESM import. An ESM
 * import of a builtin makes Node build a facade holding every export, which
 * for fs evaluates the lazy `fs.promises` and drags in ~34 more internal
 * modules (fs/promises, readline, streams): about 4 ms of start-up and
 * 0.8 MB of private memory per process (bench/startup.ts,
 * bench/svscan-memory.ts). Use `fs.openSync(...)` etc. from here in code on
 * the start-up path of short-lived tools and of resident daemons.
 */
import { createRequire } from 'node:module';

/** The node:fs module object. */
export const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
