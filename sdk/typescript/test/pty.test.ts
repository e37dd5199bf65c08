// PTY terminals over the SDK's own WebSocket client, against a real server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Daytona, DaytonaConflictError, DaytonaNotFoundError, Workspace } from '@daytonaio/sdk';

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

/** Collects a terminal's output as text. */
function collector(): { text: () => string; onData: (data: Uint8Array) => void } {
  const decoder = new TextDecoder();
  let text = '';
  return { text: () => text, onData: (data) => (text += decoder.decode(data, { stream: true })) };
}

async function seen(sink: { text: () => string }, needle: string, seconds = 30): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!sink.text().includes(needle)) {
    if (Date.now() > deadline) assert.fail(`no ${JSON.stringify(needle)} in ${JSON.stringify(sink.text().slice(-300))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('pty', () => {
  test('echo, envs, resize, one client at a time, scrollback, exit code', async () => {
    const id = `ts-pty-${Date.now().toString(36)}`;
    const first = collector();
    const pty = await workspace.process.createPty({ id, cwd: '/tmp', envs: { GREETING: 'ts-env' }, cols: 100, rows: 30, onData: first.onData });
    assert.equal(pty.isConnected(), true);
    await pty.sendInput('echo hi $GREETING $(pwd) $(stty size)\n');
    await seen(first, 'hi ts-env /tmp 30 100');
    const resized = await pty.resize(120, 40);
    assert.deepEqual([resized.cols, resized.rows], [120, 40]);
    const info = await workspace.process.getPtySessionInfo(id);
    assert.equal(info.active, true);
    assert.equal(info.envs.TERM, 'xterm-256color');
    assert.ok((await workspace.process.listPtySessions()).some((s) => s.id === id));
    await assert.rejects(workspace.process.connectPty(id, {}), DaytonaConflictError);
    await pty.disconnect();

    const second = collector();
    const again = await workspace.process.connectPty(id, { onData: second.onData });
    await seen(second, 'hi ts-env /tmp 30 100'); // the scrollback
    await again.sendInput('echo size $(stty size)\nexit 6\n');
    const result = await again.wait();
    assert.equal(result.exitCode, 6);
    assert.ok(second.text().includes('size 40 120'));
    assert.equal((await workspace.process.getPtySessionInfo(id)).active, false);
  });

  test('kill, unknown ids, a huge paste', async () => {
    const victim = await workspace.process.createPty({ id: `ts-victim-${Date.now().toString(36)}` });
    await victim.sendInput('sleep 600\n');
    await victim.kill();
    assert.equal((await victim.wait()).exitCode, 137);
    await assert.rejects(workspace.process.connectPty('no-such-pty'), DaytonaNotFoundError);
    await assert.rejects(workspace.process.getPtySessionInfo('no-such-pty'), DaytonaNotFoundError);

    const sink = collector();
    const paste = await workspace.process.createPty({ id: `ts-paste-${Date.now().toString(36)}`, onData: sink.onData });
    await paste.sendInput('stty -echo; echo READY; cat > /tmp/ts-paste; echo DONE $(wc -c < /tmp/ts-paste)\n');
    await seen(sink, 'READY');
    const line = '0123456789abcdef'.repeat(7) + '\n';
    const data = line.repeat(Math.floor((3 * 1024 * 1024) / line.length));
    await paste.sendInput(data);
    await paste.sendInput('\x04');
    await seen(sink, `DONE ${data.length}`, 120);
    await paste.kill();
    await paste.wait();
  });
});
