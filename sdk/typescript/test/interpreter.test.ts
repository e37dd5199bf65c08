// The stateful code interpreter over the SDK's own WebSocket client, against a real server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Daytona, DaytonaNotFoundError, DaytonaTimeoutError, ExecutionError, Workspace } from '@daytonaio/sdk';

import { releaseTestServer, testClient } from './server.js';

let daytona: Daytona;
let workspace: Workspace;

before(async () => {
  daytona = await testClient();
  workspace = await daytona.create({ language: 'python' });
});

after(async () => {
  if (workspace) await daytona.remove(workspace).catch(() => undefined);
  await releaseTestServer();
});

describe('code interpreter', () => {
  test('streams, keeps variables, reports errors, times out without losing the context, draws charts', async () => {
    const ci = workspace.codeInterpreter;
    const seen: Array<[number, string]> = [];
    const started = Date.now();
    const streamed = await ci.runCode("import time\nprint('a')\ntime.sleep(0.8)\nprint('b')", {
      onStdout: (m) => void seen.push([Date.now() - started, m.output]),
    });
    assert.equal(streamed.stdout, 'a\nb\n');
    assert.deepEqual(seen.map(([, text]) => text), ['a\n', 'b\n']);
    assert.ok(seen[1][0] - seen[0][0] > 500, `not streamed: ${JSON.stringify(seen)}`);

    await ci.runCode('kept = 41');
    assert.equal((await ci.runCode('print(kept + 1)')).stdout, '42\n');
    const errors: ExecutionError[] = [];
    const failed = await ci.runCode("raise ValueError('bad')", { onError: async (e) => void errors.push(e) });
    assert.equal(failed.error?.name, 'ValueError');
    assert.deepEqual(errors, [failed.error]);

    await assert.rejects(ci.runCode('import time; time.sleep(30)', { timeout: 1 }), DaytonaTimeoutError);
    assert.equal((await ci.runCode('print(kept)')).stdout, '41\n');

    const chart = await ci.runCode("import matplotlib.pyplot as plt\nplt.plot([1, 2], [3, 4])\nplt.title('T')\nplt.show()");
    assert.deepEqual(chart.charts.map((c) => [c.type, c.title]), [['line', 'T']]);
  });

  test('contexts are isolated and deleted ones are gone', async () => {
    const ci = workspace.codeInterpreter;
    const ctx = await ci.createContext('/tmp');
    assert.equal(ctx.cwd, '/tmp');
    const isolated = await ci.runCode("import os; print('kept' in globals(), os.getcwd())", { context: ctx });
    assert.equal(isolated.stdout, 'False /tmp\n');
    assert.deepEqual((await ci.listContexts()).map((c) => c.id), [ctx.id]);
    await ci.deleteContext(ctx);
    await assert.rejects(ci.runCode('1', { context: ctx }), DaytonaNotFoundError);
    await assert.rejects(ci.deleteContext(ctx), DaytonaNotFoundError);
  });
});
