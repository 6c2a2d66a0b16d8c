/**
 * mkbundle: part of `npm run build`. Bundles the entry of each program in
 * mkbins.ts BUNDLED (today tcprules: src/lib/launch-tcprules.ts) with every
 * module it imports into one CommonJS file, dist/bundle/NAME.cjs, with
 * esbuild (a devDependency). Node's built-in modules stay require()s;
 * `import.meta.url` becomes the bundle's own file URL, so createRequire()
 * calls keep working. The launcher (src/mkbins.ts) runs that file directly.
 */
import { build } from 'esbuild';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLED } from './mkbins.ts';

/** Write dist/bundle/NAME.cjs for every bundled program under root. */
export async function writeBundles(root: string): Promise<string[]> {
  const names: string[] = [];
  for (const [name, entry] of Object.entries(BUNDLED)) {
    await build({
      entryPoints: [`${root}/${entry}.ts`],
      outfile: `${root}/dist/bundle/${name}.cjs`,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node24',
      banner: { js: 'var __import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
      define: { 'import.meta.url': '__import_meta_url' },
      logLevel: 'warning',
    });
    names.push(name);
  }
  return names;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await writeBundles(resolve(dirname(fileURLToPath(import.meta.url)), '../..'));
}
