/**
 * root: the checkout's top directory, whether this code runs compiled from
 * dist/ (launchers) or as TypeScript from src/ (tests importing libraries).
 * Used to find bin/, the native addon and default templates.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const i = here.lastIndexOf('/dist/src/lib');

/** Absolute path of the checkout (the directory holding package.json). */
export const ROOT = i >= 0 ? here.slice(0, i) : resolve(here, '../..');

/** Absolute path of our launcher bin/NAME. */
export function binPath(name: string): string {
  return `${ROOT}/bin/${name}`;
}
