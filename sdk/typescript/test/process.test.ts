// The documentation's process and code execution examples, against a real server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Daytona, DaytonaError, DaytonaNotFoundError, ProcessExecutionError, Workspace } from '@daytonaio/sdk';

import { releaseTestServer, testClient } from './server.js';

let daytona: Daytona;
let workspace: Workspace;
let python: Workspace;

before(async () => {
  daytona = await testClient();
  [workspace, python] = await Promise.all([daytona.create({ language: 'typescript' }), daytona.create({ language: 'python' })]);
});

after(async () => {
  for (const ws of [workspace, python]) if (ws) await daytona.remove(ws).catch(() => undefined);
  await releaseTestServer();
});

describe('code execution', () => {
  test('runs TypeScript code (the documented example)', async () => {
    // Run TypeScript code
    const response = await workspace.process.codeRun(`
const x = 10;
const y = 20;
console.log(\`Sum: \${x + y}\`);
`);
    assert.equal(response.exitCode, 0, response.result);
    assert.equal(response.result, 'Sum: 30\n');
    assert.equal(response.stdout, 'Sum: 30\n');
    assert.equal(response.stderr, '');
  });

  test('passes argv, env and input, as options', async () => {
    const response = await workspace.process.codeRun(
      `console.log(\`Hello, \${process.argv[2]}!\`); console.log(\`FOO=\${process.env.FOO}\`);
       let data = ''; process.stdin.on('data', (c) => (data += c)); process.stdin.on('end', () => console.log('stdin:' + data.trim()));`,
      { argv: ['TypeScript'], env: { FOO: 'BAR' }, input: 'from stdin\n', timeout: 30 },
    );
    assert.equal(response.exitCode, 0, response.result);
    assert.equal(response.result, 'Hello, TypeScript!\nFOO=BAR\nstdin:from stdin\n');
  });

  test('python code gets input on stdin', async () => {
    const response = await python.process.codeRun('import sys; print(sys.argv[1:], input())', {
      argv: ['a', 'b'],
      input: 'line one\n',
    });
    assert.equal(response.result, "['a', 'b'] line one\n");
  });

  test('a run past its timeout is killed and raises ProcessExecutionError', async () => {
    const error = await python.process.codeRun('import time\nprint("started", flush=True)\ntime.sleep(60)', { timeout: 1 }).then(
      () => assert.fail('the run did not time out'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ProcessExecutionError, String(error));
    assert.ok(error instanceof DaytonaError);
    assert.equal(error.timedOut, true);
    assert.equal(error.exitCode, 124);
    assert.equal(error.stdout, 'started\n');
    // the third argument is the documented timeout too
    await assert.rejects(workspace.process.codeRun('setTimeout(() => console.log("Done"), 60000);', undefined, 1), ProcessExecutionError);
  });

  test('check: true raises on a non-zero exit, with stdout and stderr', async () => {
    const code = 'import sys\nprint("out")\nprint("bad thing", file=sys.stderr)\nsys.exit(3)';
    const plain = await python.process.codeRun(code);
    assert.equal(plain.exitCode, 3);
    const error = await python.process.codeRun(code, { check: true }).then(
      () => assert.fail('no error'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ProcessExecutionError);
    assert.equal(error.exitCode, 3);
    assert.equal(error.stdout, 'out\n');
    assert.equal(error.stderr, 'bad thing\n');
    assert.match(error.message, /exited with code 3: bad thing/);
  });

  test('onStdout / onStderr receive the output while it is produced', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const response = await python.process.codeRun(
      'import sys\nfor i in range(3):\n    print(i, flush=True)\nprint("warn", file=sys.stderr, flush=True)',
      { onStdout: (t) => out.push(t), onStderr: (t) => err.push(t) },
    );
    assert.equal(response.exitCode, 0);
    assert.equal(out.join(''), '0\n1\n2\n');
    assert.equal(err.join(''), 'warn\n');
    assert.equal(response.stdout, '0\n1\n2\n');
    assert.equal(response.stderr, 'warn\n');
  });
});

describe('command execution', () => {
  test('executes a shell command (the documented example)', async () => {
    // Execute any shell command
    const response = await workspace.process.executeCommand('ls -la');
    assert.equal(response.exitCode, 0);
    assert.match(response.result, /total/);
  });

  test('takes a working directory and a timeout', async () => {
    await workspace.process.executeCommand('mkdir -p /workspace/src');
    const response = await workspace.process.executeCommand('pwd && whoami', '/workspace/src', 10);
    assert.equal(response.result, '/workspace/src\ndaytona\n');
    const relative = await workspace.process.executeCommand('pwd', 'relative-dir-that-is-missing').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(relative instanceof DaytonaError, 'a missing cwd is an error');
  });

  test('returns exit code, stdout and stderr apart; env reaches the command', async () => {
    const response = await workspace.process.executeCommand('echo "$GREETING"; echo oops >&2; exit 7', undefined, undefined, {
      env: { GREETING: 'hi there' },
    });
    assert.equal(response.exitCode, 7);
    assert.equal(response.stdout, 'hi there\n');
    assert.equal(response.stderr, 'oops\n');
    assert.match(response.result, /hi there\n/);
    assert.match(response.result, /oops\n/);
  });

  test('a command past its timeout raises ProcessExecutionError', async () => {
    const error = await workspace.process.executeCommand('echo begin; sleep 60', undefined, 1).then(
      () => assert.fail('the command did not time out'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ProcessExecutionError, String(error));
    assert.equal(error.timedOut, true);
    assert.equal(error.stdout, 'begin\n');
  });

  test('exec() takes every option in one object, with check', async () => {
    const response = await workspace.process.exec('pwd', { cwd: '/tmp', timeout: 10 });
    assert.equal(response.result, '/tmp\n');
    await assert.rejects(workspace.process.exec('false', { check: true }), ProcessExecutionError);
  });

  test('bad input raises typed errors', async () => {
    await assert.rejects(workspace.process.executeCommand('true', undefined, -1), /timeout must be a non-negative/);
    await assert.rejects(workspace.process.executeCommand(42 as never), /command must be a string/);
    const gone = await daytona.create();
    await daytona.remove(gone);
    await assert.rejects(gone.process.executeCommand('true'), DaytonaNotFoundError);
    await assert.rejects(gone.process.codeRun('print(1)'), DaytonaNotFoundError);
  });
});
