// Builds the installable CLI (dist/credreport.js, the package's `bin`) and prints the bundle sizes.
import { build } from 'esbuild';
import { chmodSync, statSync } from 'node:fs';

const outfile = 'dist/credreport.js';
await build({
  entryPoints: ['cli/main.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: false,
  sourcemap: 'linked',
  // cli/main.ts starts with its own `#!/usr/bin/env node`, which esbuild keeps.
  logLevel: 'warning',
  // Only `demo --screenshots` loads it, and it is a development dependency: never bundled.
  external: ['puppeteer-core'],
});
chmodSync(outfile, 0o755);
console.log(`built ${outfile} (${Math.round(statSync(outfile).size / 1024)} KB)`);
