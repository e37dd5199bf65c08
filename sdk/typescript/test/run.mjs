// Run the compiled tests (build/test) against one real server: start it, run `node --test` with
// its URL and key in the environment, then remove every sandbox and stop it.
//
//   node test/run.mjs [FILE ...] [--grep PATTERN]   (after `npm run build && npm run build:test`)
//
// FILE selects test files by name (`fs` runs fs.test.js); --grep runs only the tests whose name matches.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const testDir = fileURLToPath(new URL('../build/test/', import.meta.url));
const { startServer, stopServer } = await import(new URL('../build/test/server.js', import.meta.url).href);

const args = process.argv.slice(2);
const grep = args.indexOf('--grep');
const pattern = grep >= 0 ? args.splice(grep, 2)[1] : undefined;
const all = readdirSync(testDir).filter((name) => name.endsWith('.test.js')).sort();
const chosen = args.length ? all.filter((name) => args.some((arg) => name === `${arg}.test.js` || name === arg)) : all;
if (!chosen.length) {
  console.error(`no test file matches ${args.join(' ')}; there are: ${all.join(' ')}`);
  process.exit(2);
}
const files = chosen.map((name) => testDir + name);

console.log('starting a Daytona server for the TypeScript SDK tests ...');
const server = await startServer();
console.log(`server at ${server.url}`);

let code = 1;
try {
  const testArgs = ['--test', '--test-reporter=spec', ...(pattern ? ['--test-name-pattern', pattern] : []), ...files];
  const child = spawn(process.execPath, testArgs, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, DAYTONA_TEST_SERVER_URL: server.url, DAYTONA_TEST_API_KEY: server.apiKey },
  });
  const stop = () => child.kill('SIGINT');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  code = await new Promise((resolve) => child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0))));
  if (code !== 0) {
    const log = readFileSync(server.logPath, 'utf8').split('\n').slice(-60).join('\n');
    console.error(`\n--- last lines of the server log (${server.logPath}) ---\n${log}`);
  }
} finally {
  await stopServer(server);
}
process.exit(code);
