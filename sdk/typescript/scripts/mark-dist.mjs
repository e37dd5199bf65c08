// Tell Node which module system each build uses: dist/esm is ES modules, dist/cjs is CommonJS.
import { writeFileSync } from 'node:fs';

writeFileSync(new URL('../dist/esm/package.json', import.meta.url), '{\n  "type": "module"\n}\n');
writeFileSync(new URL('../dist/cjs/package.json', import.meta.url), '{\n  "type": "commonjs"\n}\n');
