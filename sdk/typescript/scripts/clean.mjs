// Remove build output folders (portable `rm -rf`): node scripts/clean.mjs dist build
import { rmSync } from 'node:fs';

for (const dir of process.argv.slice(2)) rmSync(new URL(`../${dir}`, import.meta.url), { recursive: true, force: true });
