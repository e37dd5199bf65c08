// The documentation's git examples, against a real server. Remotes live in the sandbox itself: a
// bare repository on its disk, and a git smart-HTTP server with Basic auth on its own loopback.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  Daytona,
  DaytonaBadRequestError,
  DaytonaConflictError,
  DaytonaError,
  DaytonaForbiddenError,
  DaytonaNotFoundError,
  Workspace,
} from '@daytonaio/sdk';

import { releaseTestServer, REPO_ROOT, testClient } from './server.js';

let daytona: Daytona;
let workspace: Workspace;
const ORIGIN = '/home/daytona/origin.git';
const REPO = '/workspace/repo';
const HTTP_PORT = 8765;

async function sh(command: string): Promise<string> {
  const response = await workspace.process.executeCommand(command, undefined, 60);
  assert.equal(response.exitCode, 0, `${command}: ${response.result}`);
  return response.stdout;
}

before(async () => {
  daytona = await testClient();
  workspace = await daytona.create({ language: 'typescript' });
  // A remote with one commit on main, and a second branch.
  await sh(
    [
      'set -e',
      'git config --global init.defaultBranch main',
      'git init -q /tmp/seed && cd /tmp/seed',
      'echo "# demo" > README.md && git add README.md',
      'git -c user.name=Seed -c user.email=seed@example.com commit -qm "initial commit"',
      'git branch develop',
      `git clone -q --bare /tmp/seed ${ORIGIN}`,
    ].join('\n'),
  );
});

after(async () => {
  if (workspace) await daytona.remove(workspace).catch(() => undefined);
  await releaseTestServer();
});

describe('git', () => {
  test('the documented examples: clone, status, branches, add, commit, push, pull, log', async () => {
    // Basic clone
    await workspace.git.clone(ORIGIN, REPO);

    // Get repository status
    let status = await workspace.git.status(REPO);
    assert.equal(status.currentBranch, 'main');
    assert.equal(status.ahead, 0);
    assert.equal(status.behind, 0);
    assert.equal(status.branchPublished, true);
    assert.deepEqual(status['FileStatus[]'], []);

    // List branches
    const response = await workspace.git.branches(REPO);
    assert.deepEqual(response.branches, ['main']);

    // Stage and commit changes
    await workspace.fs.uploadFile(`${REPO}/file.txt`, 'hello\n');
    await workspace.fs.uploadFile(`${REPO}/README.md`, '# demo, changed\n');
    status = await workspace.git.status(REPO);
    const names = status['FileStatus[]'].map((file) => `${file.name}:${file.staging}/${file.worktree}`).sort();
    assert.deepEqual(names, ['README.md:Unmodified/Modified', 'file.txt:Untracked/Untracked']);
    assert.deepEqual(status.fileStatus, status['FileStatus[]']);

    await workspace.git.add(REPO, ['file.txt']);
    await workspace.git.add(REPO, ['.']); // stage all
    const commit = await workspace.git.commit(REPO, 'feat: add new feature', 'John Doe', 'john@example.com');
    assert.match(commit.hash, /^[0-9a-f]{40}$/);
    status = await workspace.git.status(REPO);
    assert.equal(status.ahead, 1);
    assert.deepEqual(status.fileStatus, []);

    // Push changes
    await workspace.git.push(REPO);
    assert.equal((await workspace.git.status(REPO)).ahead, 0);
    assert.equal((await sh(`git --git-dir=${ORIGIN} rev-parse main`)).trim(), commit.hash);

    // Pull changes made elsewhere
    await sh(
      [
        'set -e',
        `git clone -q ${ORIGIN} /tmp/other && cd /tmp/other`,
        'echo more >> file.txt && git add file.txt',
        'git -c user.name=Other -c user.email=other@example.com commit -qm "second change" && git push -q',
      ].join('\n'),
    );
    await workspace.git.pull(REPO);
    assert.equal((await workspace.fs.downloadFile(`${REPO}/file.txt`)).toString(), 'hello\nmore\n');

    const log = await workspace.git.log(REPO);
    assert.deepEqual(
      log.map((c) => [c.message, c.author, c.email]),
      [
        ['second change', 'Other', 'other@example.com'],
        ['feat: add new feature', 'John Doe', 'john@example.com'],
        ['initial commit', 'Seed', 'seed@example.com'],
      ],
    );
    assert.equal(log[1]?.hash, commit.hash);
    assert.ok(log[0]?.timestamp);
    const remotes = await workspace.git.listRemotes(REPO);
    assert.deepEqual(remotes, [{ name: 'origin', url: ORIGIN }]);
  });

  test('branches: create, checkout, delete; push and pull name a remote and branch', async () => {
    const repo = '/workspace/branches';
    // Clone specific branch
    await workspace.git.clone(ORIGIN, repo, 'develop');
    assert.equal((await workspace.git.status(repo)).currentBranch, 'develop');

    // Create and switch to new branch
    await workspace.git.createBranch(repo, 'feature/new-feature');
    assert.equal((await workspace.git.status(repo)).currentBranch, 'feature/new-feature');
    await workspace.fs.uploadFile(`${repo}/feature.txt`, 'feature\n');
    await workspace.git.add(repo, ['feature.txt']);
    await workspace.git.commit(repo, 'feature work', 'Dev', 'dev@example.com');
    assert.equal((await workspace.git.status(repo)).branchPublished, false);
    await workspace.git.push(repo, 'origin', 'feature/new-feature');
    assert.equal((await workspace.git.status(repo)).branchPublished, true);
    await workspace.git.pull(repo, 'origin', 'feature/new-feature');

    // Switch branch
    await workspace.git.checkout(repo, 'develop');
    assert.equal((await workspace.git.status(repo)).currentBranch, 'develop');
    assert.deepEqual((await workspace.git.branches(repo)).branches.sort(), ['develop', 'feature/new-feature']);

    // A remote-only branch gets a local tracking branch
    await workspace.git.checkout(repo, 'main');
    assert.equal((await workspace.git.status(repo)).currentBranch, 'main');

    // Delete branch (merged into its upstream, so no force is needed)
    await workspace.git.createBranch(repo, 'feature/old-feature');
    await workspace.git.checkout(repo, 'main');
    await workspace.git.deleteBranch(repo, 'feature/old-feature');
    assert.ok(!(await workspace.git.branches(repo)).branches.includes('feature/old-feature'));

    // Clone at a commit: HEAD is detached there
    const first = (await workspace.git.log(ORIGIN)).at(-1);
    assert.ok(first);
    await workspace.git.clone(ORIGIN, '/workspace/at-commit', undefined, first.hash);
    assert.equal((await sh('git -C /workspace/at-commit rev-parse HEAD')).trim(), first.hash);
  });

  test('clone, push and pull with credentials over HTTP; a wrong password raises DaytonaForbiddenError', async () => {
    const script = readFileSync(join(REPO_ROOT, 'tests', 'integration', 'git_http_server.py'), 'utf8');
    await workspace.fs.uploadFile('/home/daytona/git_http_server.py', script);
    await sh(`mkdir -p /home/daytona/served && git clone -q --bare /tmp/seed /home/daytona/served/private.git`);
    await workspace.process.createSession('git-http');
    await workspace.process.executeSessionCommand('git-http', {
      command: `python3 /home/daytona/git_http_server.py /home/daytona/served ${HTTP_PORT} git s3cret-token`,
      runAsync: true,
    });
    const url = `http://127.0.0.1:${HTTP_PORT}/private.git`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const probe = await workspace.process.executeCommand(
        `python3 -c "import socket; socket.create_connection(('127.0.0.1', ${HTTP_PORT}), 1)"`,
      );
      if (probe.exitCode === 0) break;
      if (Date.now() > deadline) assert.fail(`the git HTTP server did not start: ${probe.result}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    try {
      // Clone with authentication
      await assert.rejects(
        workspace.git.clone(url, '/workspace/private', undefined, undefined, 'git', 'wrong-password'),
        DaytonaForbiddenError,
      );
      await assert.rejects(workspace.fs.getFileDetails('/workspace/private/README.md'), DaytonaNotFoundError);
      await workspace.git.clone(url, '/workspace/private', undefined, undefined, 'git', 's3cret-token');
      assert.equal((await workspace.fs.downloadFile('/workspace/private/README.md')).toString(), '# demo\n');
      // the token is not stored anywhere in the repository
      assert.doesNotMatch(await sh('cat /workspace/private/.git/config'), /s3cret-token/);

      await workspace.fs.uploadFile('/workspace/private/pushed.txt', 'pushed\n');
      await workspace.git.add('/workspace/private', ['pushed.txt']);
      await workspace.git.commit('/workspace/private', 'pushed over http', 'Dev', 'dev@example.com');
      await assert.rejects(workspace.git.push('/workspace/private'), DaytonaForbiddenError);
      await workspace.git.push('/workspace/private', { username: 'git', password: 's3cret-token' });
      await workspace.git.pull('/workspace/private', undefined, undefined, { username: 'git', password: 's3cret-token' });
      assert.match(await sh('git --git-dir=/home/daytona/served/private.git log --format=%s -1'), /pushed over http/);
    } finally {
      await workspace.process.deleteSession('git-http');
    }
  });

  test('bad input raises typed errors', async () => {
    await assert.rejects(workspace.git.status('/workspace/no-such-repo'), DaytonaNotFoundError);
    await assert.rejects(workspace.git.status('/workspace/repo/file.txt'), DaytonaBadRequestError);
    await assert.rejects(workspace.git.clone('/home/daytona/no-such-origin.git', '/workspace/x'), DaytonaError);
    await assert.rejects(workspace.git.clone(ORIGIN, REPO), DaytonaConflictError); // exists and is not empty
    await assert.rejects(workspace.git.checkout(REPO, 'no-such-branch'), DaytonaNotFoundError);
    await assert.rejects(workspace.git.createBranch(REPO, 'main'), DaytonaConflictError);
    await assert.rejects(workspace.git.deleteBranch(REPO, 'main'), DaytonaError); // the current branch
    await assert.rejects(workspace.git.commit(REPO, 'nothing', 'A', 'a@example.com'), DaytonaConflictError);
    await assert.rejects(workspace.git.add(REPO, []), DaytonaBadRequestError);
    await assert.rejects(workspace.git.status(''), /path must be a non-empty string/);
    // the repository is untouched by all of that
    assert.equal((await workspace.git.status(REPO)).currentBranch, 'main');
  });
});
