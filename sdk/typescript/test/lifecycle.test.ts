// Sandbox lifecycle beyond start/stop: auto-stop and auto-archive intervals, resize, archive and
// restore, preview links; against a real server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Daytona, DaytonaConflictError, DaytonaError, DaytonaNotFoundError, Workspace, WorkspaceState } from '@daytonaio/sdk';

import { releaseTestServer, testClient } from './server.js';

let daytona: Daytona;
let workspace: Workspace;

before(async () => {
  daytona = await testClient();
  workspace = await daytona.create({ language: 'python', autoStopInterval: 30 });
});

after(async () => {
  if (workspace) await daytona.remove(workspace).catch(() => undefined);
  await releaseTestServer();
});

describe('lifecycle', () => {
  test('auto-stop and auto-archive intervals', async () => {
    assert.equal(workspace.instance.autoStopInterval, 30);
    await workspace.setAutostopInterval(0);
    await workspace.setAutoArchiveInterval(60);
    const info = await workspace.info();
    assert.equal(info.autoStopInterval, 0);
    assert.equal(info.autoArchiveInterval, 60);
    await assert.rejects(workspace.setAutostopInterval(-1), /non-negative integer/);
    await assert.rejects(workspace.setAutoArchiveInterval(1.5), /non-negative integer/);
  });

  test('preview links name the port and the sandbox; private ones come with a token', async () => {
    const preview = await workspace.getPreviewUrl(8080);
    assert.match(preview.url, new RegExp(`^https?://8080-${workspace.id}\\.`));
    assert.ok(preview.token.length > 0);
    assert.equal(await workspace.getPreviewLink(8080), preview.url);
  });

  test('resize a stopped sandbox; archive and restore keep its files', async () => {
    await workspace.process.executeCommand('echo "kept through archive" > /workspace/kept.txt');
    await assert.rejects(workspace.resize({ cpu: 1, memory: 1 }), DaytonaConflictError); // it runs
    await workspace.stop();
    const resized = await workspace.resize({ cpu: 1, memory: 1 });
    assert.equal(resized.resources.memory, '1Gi');

    await workspace.archive(true, 300);
    assert.equal((await workspace.info()).state, WorkspaceState.ARCHIVED);
    await workspace.start(300);
    assert.equal((await workspace.info()).state, WorkspaceState.STARTED);
    const response = await workspace.process.executeCommand('cat /workspace/kept.txt');
    assert.equal(response.result, 'kept through archive\n');
  });

  test('operations on a removed sandbox raise DaytonaNotFoundError', async () => {
    const gone = await daytona.create();
    await daytona.remove(gone);
    await assert.rejects(gone.info(), DaytonaNotFoundError);
    await assert.rejects(gone.start(), DaytonaNotFoundError);
    await assert.rejects(gone.setLabels({ a: 'b' }), DaytonaNotFoundError);
    await assert.rejects(daytona.remove(gone), DaytonaNotFoundError);
    await assert.rejects(gone.setLabels(null as never), DaytonaError);
  });
});
