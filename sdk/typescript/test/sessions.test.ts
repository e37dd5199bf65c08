// The documentation's session examples, against a real server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Daytona, DaytonaBadRequestError, DaytonaConflictError, DaytonaNotFoundError, ProcessExecutionError, Workspace } from '@daytonaio/sdk';

import { releaseTestServer, testClient } from './server.js';

let daytona: Daytona;
let workspace: Workspace;

before(async () => {
  daytona = await testClient();
  workspace = await daytona.create({ language: 'typescript' });
});

after(async () => {
  if (workspace) await daytona.remove(workspace).catch(() => undefined);
  await releaseTestServer();
});

/** Poll until the session command has an exit code (deadline 60 s). */
async function waitForExit(sessionId: string, commandId: string): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const command = await workspace.process.getSessionCommand(sessionId, commandId);
    if (command.exitCode !== null && command.exitCode !== undefined) return command.exitCode;
    if (Date.now() > deadline) assert.fail(`command ${commandId} did not finish`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('sessions', () => {
  test('the documented example: state persists between commands, logs, list, delete', async () => {
    // Create a new session
    const sessionId = 'my-session';
    await workspace.process.createSession(sessionId);

    // Execute command in session
    const cd = await workspace.process.executeSessionCommand(sessionId, {
      command: 'cd /workspace',
      async: false,
    });
    assert.equal(cd.exitCode, 0);
    const pwd = await workspace.process.executeSessionCommand(sessionId, { command: 'export GREETING=hello; pwd' });
    assert.equal(pwd.output, '/workspace\n');
    const echo = await workspace.process.executeSessionCommand(sessionId, { command: 'echo "$GREETING from $(pwd)"' });
    assert.equal(echo.output, 'hello from /workspace\n');
    assert.ok(echo.cmdId);

    // Get session info
    const session = await workspace.process.getSession(sessionId);
    assert.equal(session.sessionId, sessionId);
    assert.deepEqual(
      session.commands.map((c) => [c.command, c.exitCode]),
      [
        ['cd /workspace', 0],
        ['export GREETING=hello; pwd', 0],
        ['echo "$GREETING from $(pwd)"', 0],
      ],
    );

    // List all running sessions
    const sessions = await workspace.process.listSessions();
    const listed = sessions.find((s) => s.sessionId === sessionId);
    assert.ok(listed);
    assert.equal(listed.commands.length, 3);

    // Get command logs
    const logs = await workspace.process.getSessionCommandLogs(sessionId, echo.cmdId!);
    assert.equal(logs, 'hello from /workspace\n');

    // Delete session
    await workspace.process.deleteSession(sessionId);
    await assert.rejects(workspace.process.getSession(sessionId), DaytonaNotFoundError);
  });

  test('an async command returns at once; its command, logs and exit code follow', async () => {
    const sessionId = 'async-session';
    await workspace.process.createSession(sessionId);
    try {
      const started = await workspace.process.executeSessionCommand(sessionId, {
        command: 'for i in 1 2 3; do echo line $i; sleep 0.2; done; echo err >&2; exit 4',
        runAsync: true,
      });
      assert.ok(started.cmdId);
      assert.equal(started.exitCode, null);
      assert.equal(await waitForExit(sessionId, started.cmdId), 4);
      const command = await workspace.process.getSessionCommand(sessionId, started.cmdId);
      assert.equal(command.id, started.cmdId);
      assert.match(command.command, /for i in/);
      assert.equal(await workspace.process.getSessionCommandLogs(sessionId, started.cmdId), 'line 1\nline 2\nline 3\nerr\n');
      const read = await workspace.process.readSessionCommandLogs(sessionId, started.cmdId);
      assert.equal(read.stdout, 'line 1\nline 2\nline 3\n');
      assert.equal(read.stderr, 'err\n');
      assert.equal(read.done, true);
      assert.equal(read.exitCode, 4);
    } finally {
      await workspace.process.deleteSession(sessionId);
    }
  });

  test('streamSessionCommandLogs follows the output until the command ends; input reaches stdin', async () => {
    const sessionId = 'follow-session';
    await workspace.process.createSession(sessionId);
    try {
      const started = await workspace.process.executeSessionCommand(sessionId, {
        command: 'read name; echo "hi $name"; for i in 1 2; do echo tick $i; sleep 0.3; done',
        runAsync: true,
      });
      await workspace.process.sendSessionCommandInput(sessionId, started.cmdId, 'ts\n');
      const chunks: string[] = [];
      for await (const chunk of workspace.process.streamSessionCommandLogs(sessionId, started.cmdId)) {
        assert.equal(chunk.stream, 'stdout');
        chunks.push(chunk.data);
      }
      assert.equal(chunks.join(''), 'hi ts\ntick 1\ntick 2\n');
      assert.equal(await waitForExit(sessionId, started.cmdId), 0);

      const mixed = await workspace.process.executeSessionCommand(sessionId, {
        command: 'echo out; sleep 0.2; echo err >&2; sleep 0.2; echo done',
        runAsync: true,
      });
      const out: string[] = [];
      const err: string[] = [];
      const ended = await workspace.process.followSessionCommandLogs(sessionId, mixed.cmdId, (t) => out.push(t), (t) => err.push(t));
      assert.equal(out.join(''), 'out\ndone\n');
      assert.equal(err.join(''), 'err\n');
      assert.equal(ended.exitCode, 0);
    } finally {
      await workspace.process.deleteSession(sessionId);
    }
  });

  test('a sync session command past its timeout raises ProcessExecutionError; check raises on failure', async () => {
    const sessionId = 'timeout-session';
    await workspace.process.createSession(sessionId);
    try {
      const error = await workspace.process.executeSessionCommand(sessionId, { command: 'echo before; sleep 60' }, 1).then(
        () => assert.fail('the session command did not time out'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof ProcessExecutionError, String(error));
      assert.equal(error.timedOut, true);
      assert.equal(error.stdout, 'before\n');
      // the session is still usable
      const after = await workspace.process.executeSessionCommand(sessionId, 'echo after');
      assert.equal(after.output, 'after\n');
      await assert.rejects(workspace.process.executeSessionCommand(sessionId, 'exit 2', undefined, { check: true }), ProcessExecutionError);
    } finally {
      await workspace.process.deleteSession(sessionId);
    }
  });

  test('bad input raises typed errors', async () => {
    await workspace.process.createSession('dup');
    try {
      await assert.rejects(workspace.process.createSession('dup'), DaytonaConflictError);
    } finally {
      await workspace.process.deleteSession('dup');
    }
    await assert.rejects(workspace.process.getSession('no-such-session'), DaytonaNotFoundError);
    await assert.rejects(workspace.process.deleteSession('no-such-session'), DaytonaNotFoundError);
    await assert.rejects(workspace.process.executeSessionCommand('no-such-session', 'true'), DaytonaNotFoundError);
    await assert.rejects(workspace.process.createSession(''), /sessionId must be a non-empty string/);
    await workspace.process.createSession('s1');
    try {
      await assert.rejects(workspace.process.getSessionCommand('s1', 'no-such-command'), DaytonaNotFoundError);
      await assert.rejects(workspace.process.executeSessionCommand('s1', { command: '   ' }), DaytonaBadRequestError);
      await assert.rejects(workspace.process.executeSessionCommand('s1', { command: 'true', async: true, runAsync: false }), /disagree/);
    } finally {
      await workspace.process.deleteSession('s1');
    }
  });
});
