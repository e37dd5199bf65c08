// Today's names in our SDK: snapshots (declarative builds), volumes shared by sandboxes, fork; against a real server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Daytona, DaytonaConflictError, DaytonaError, DaytonaNotFoundError, Workspace } from '@daytonaio/sdk';

import { releaseTestServer, testClient } from './server.js';

let daytona: Daytona;
const made: Workspace[] = [];

before(async () => {
  daytona = await testClient();
});

after(async () => {
  for (const workspace of made) await daytona.remove(workspace).catch(() => undefined);
  await releaseTestServer();
});

describe('templates', () => {
  test('a snapshot built from a Dockerfile, a volume shared by two sandboxes, and a fork', async () => {
    const snapshot = await daytona.snapshot.create('ts-template', {
      dockerfile: 'FROM daytona-sandbox:0.1.0\nRUN echo ts > /ts.txt\n',
    });
    assert.equal(snapshot.state, 'active');
    const one = await daytona.create({ snapshot: 'ts-template' });
    made.push(one);
    assert.equal((await one.process.executeCommand('cat /ts.txt')).result.trim(), 'ts');

    const volume = await daytona.volume.get('ts-volume', true);
    const writer = await daytona.create({ volumes: [{ volumeId: volume.id, mountPath: '/data' }] });
    const reader = await daytona.create({ volumes: [{ volumeId: 'ts-volume', mountPath: '/v' }] });
    made.push(writer, reader);
    await writer.process.executeCommand('sh -c "echo shared > /data/note.txt"');
    assert.equal((await reader.process.executeCommand('cat /v/note.txt')).result.trim(), 'shared');
    await assert.rejects(daytona.volume.delete(volume), DaytonaConflictError);

    await one.process.executeCommand('sh -c "echo before > /home/daytona/f.txt"');
    const fork = await one.fork();
    made.push(fork);
    await one.process.executeCommand('sh -c "echo after > /home/daytona/f.txt"');
    assert.equal((await fork.process.executeCommand('cat /home/daytona/f.txt')).result.trim(), 'before');
    await one.createSnapshot('ts-copy');
    assert.equal((await daytona.snapshot.get('ts-copy')).sourceSandboxId, one.id);
    await assert.rejects(daytona.snapshot.delete('ts-template'), DaytonaConflictError);
    await assert.rejects(daytona.snapshot.create('ts-bad', { dockerfile: 'FROM daytona-sandbox:0.1.0\nRUN exit 3\n' }), DaytonaError);

    for (const workspace of made.splice(0)) await daytona.remove(workspace);
    await daytona.volume.delete(volume);
    await assert.rejects(daytona.volume.get('ts-volume'), DaytonaNotFoundError);
    await daytona.snapshot.delete('ts-copy');
    await daytona.snapshot.delete('ts-template');
  });
});
