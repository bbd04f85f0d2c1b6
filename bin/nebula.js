#!/usr/bin/env node
// Runs the compiled CLI (dist/, what `npm pack` ships). In a git checkout without dist/ it falls back
// to tsx on src/ — a dev dependency, so a checkout installed with --omit=dev gets a clear message.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'cli.js');
if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      'nebula: this checkout has no dist/ build and no tsx to run the sources.\n' +
        '  hint: on a development machine run `npm install && npm run build`; on a Raspberry Pi install the\n' +
        '  packed tarball instead (`npm pack` on the bench, then `npm install -g --omit=dev ./nebula-*.tgz`, docs/pi-energy.md).\n',
    );
    process.exit(2);
  }
  register();
  await import(pathToFileURL(join(root, 'src', 'cli.ts')).href);
}
