// The documentation's quick start and sandbox-management examples, run against a real server,
// and the typed errors for bad input (wrong key, unknown id, taken id, invalid parameters).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  CreateSandboxParams,
  CreateWorkspaceParams,
  Daytona,
  DaytonaApiError,
  DaytonaAuthenticationError,
  DaytonaBadRequestError,
  DaytonaConflictError,
  DaytonaError,
  DaytonaNotFoundError,
  Sandbox,
  Workspace,
  WorkspaceState,
} from '@daytonaio/sdk';

import { releaseTestServer, RunningServer, testServer } from './server.js';

let server: RunningServer;

before(async () => {
  server = await testServer();
  // The examples construct `new Daytona()` and rely on the environment, as the documentation does.
  process.env.DAYTONA_API_KEY = server.apiKey;
  process.env.DAYTONA_SERVER_URL = server.url;
  process.env.DAYTONA_TARGET = 'us';
});

after(releaseTestServer);

describe('quick start', () => {
  test('creates a typescript sandbox, runs code, removes it', async () => {
    // Initialize the Daytona client
    const daytona = new Daytona();

    // Create the workspace instance
    const workspace = await daytona.create({
      language: 'typescript',
    });

    // Run the code securely inside the workspace
    const response = await workspace.process.codeRun('console.log("Hello World from code!")');
    assert.equal(response.exitCode, 0, response.result);
    assert.equal(response.result.trim(), 'Hello World from code!');

    // Clean up
    await daytona.remove(workspace);
    await assert.rejects(daytona.get(workspace.id), DaytonaNotFoundError);
  });

  test('python is the default language; failing code returns its exit code and traceback', async () => {
    const daytona = new Daytona();
    const workspace = await daytona.create();
    try {
      assert.equal(workspace.instance.labels['code-toolbox-language'], 'python');
      const ok = await workspace.process.codeRun('print("Hello World from code!")');
      assert.equal(ok.exitCode, 0);
      assert.equal(ok.result, 'Hello World from code!\n');
      const failed = await workspace.process.codeRun('raise ValueError("boom")');
      assert.equal(failed.exitCode, 1);
      assert.match(failed.stderr, /ValueError: boom/);
      assert.match(failed.result, /Traceback/);
    } finally {
      await daytona.remove(workspace);
    }
  });
});

describe('sandbox management', () => {
  const daytona = (): Daytona => new Daytona();
  let workspace: Workspace;

  before(async () => {
    // Create a workspace with custom configuration
    const params: CreateWorkspaceParams = {
      language: 'typescript',
      envVars: { NODE_ENV: 'development' },
      labels: { project: 'ts-sdk-test' },
      resources: { cpu: 1, memory: 1 },
      autoStopInterval: 0,
    };
    workspace = await daytona().create(params, 60);
  });

  after(async () => {
    await daytona().remove(workspace).catch(() => undefined);
  });

  test('info() reports the state, resources, labels and env given at creation', async () => {
    const info = await workspace.info();
    assert.equal(info.id, workspace.id);
    assert.equal(info.state, WorkspaceState.STARTED);
    assert.equal(info.resources.cpu, '1');
    assert.equal(info.resources.memory, '1Gi');
    assert.equal(info.env.NODE_ENV, 'development');
    assert.equal(info.labels.project, 'ts-sdk-test');
    assert.equal(info.labels['code-toolbox-language'], 'typescript');
    assert.equal(info.autoStopInterval, 0);
    assert.equal(info.target, 'us');
    assert.ok(info.created, 'created is set');
  });

  test('env vars reach the code; the root dir is the user home', async () => {
    const response = await workspace.process.codeRun('console.log(process.env.NODE_ENV)');
    assert.equal(response.result.trim(), 'development');
    // Get workspace root directory
    const rootDir = await workspace.getWorkspaceRootDir();
    assert.equal(rootDir, '/home/daytona');
    assert.equal(await workspace.getSandboxRootDir(), rootDir);
  });

  test('get and list find the sandbox; list filters by labels', async () => {
    const found = await daytona().get(workspace.id);
    assert.equal(found.id, workspace.id);
    assert.equal(found.codeLanguage, 'typescript');
    const current = await daytona().getCurrentWorkspace(workspace.id);
    assert.equal(current.instance.state, 'started');

    // List all workspaces
    const workspaces = await daytona().list();
    assert.ok(workspaces.some((ws) => ws.id === workspace.id));
    const labelled = await daytona().list({ project: 'ts-sdk-test' });
    assert.deepEqual(
      labelled.map((ws) => ws.id),
      [workspace.id],
    );
    assert.deepEqual(await daytona().list({ project: 'no-such-project' }), []);
  });

  test('setLabels replaces the labels', async () => {
    const labels = await workspace.setLabels({ project: 'ts-sdk-test', public: true, tier: 2 });
    assert.deepEqual(labels, { project: 'ts-sdk-test', public: 'true', tier: '2' });
    const info = await workspace.info();
    assert.deepEqual(info.labels, labels);
  });

  test('stop keeps the files; start brings the sandbox back', async () => {
    await workspace.process.executeCommand('echo kept > /workspace/kept.txt');
    await daytona().stop(workspace);
    assert.equal((await workspace.info()).state, 'stopped');
    // A stopped sandbox runs nothing: the toolbox answers 409.
    await assert.rejects(workspace.process.executeCommand('true'), DaytonaConflictError);
    await daytona().start(workspace);
    assert.equal((await workspace.info()).state, 'started');
    const response = await workspace.process.executeCommand('cat /workspace/kept.txt');
    assert.equal(response.result, 'kept\n');
  });

  test('Sandbox is the same class as Workspace', async () => {
    const params: CreateSandboxParams = { language: 'python' };
    assert.equal(params.language, 'python');
    const sandbox: Sandbox = await daytona().get(workspace.id);
    assert.ok(sandbox instanceof Sandbox);
    assert.ok(sandbox instanceof Workspace);
  });
});

describe('errors', () => {
  test('a wrong API key raises DaytonaAuthenticationError', async () => {
    const daytona = new Daytona({ apiKey: 'dtn_wrong', serverUrl: server.url });
    const error = await daytona.list().then(
      () => assert.fail('list() with a wrong key succeeded'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof DaytonaAuthenticationError, String(error));
    assert.ok(error instanceof DaytonaApiError);
    assert.ok(error instanceof DaytonaError);
    assert.equal(error.statusCode, 401);
    assert.ok(error.message.length > 0);
    await assert.rejects(daytona.create(), DaytonaAuthenticationError);
  });

  test('an unknown id raises DaytonaNotFoundError with the server message and body', async () => {
    const daytona = new Daytona();
    const error = await daytona.get('no-such-sandbox').then(
      () => assert.fail('get() of an unknown id succeeded'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof DaytonaNotFoundError, String(error));
    assert.equal(error.statusCode, 404);
    assert.match(error.message, /no-such-sandbox/);
    assert.equal((error.body as { statusCode: number }).statusCode, 404);
    await assert.rejects(daytona.get(''), DaytonaError);
  });

  test('a taken id raises DaytonaConflictError and leaves the existing sandbox alone', async () => {
    const daytona = new Daytona();
    const workspace = await daytona.create({ id: `ts-conflict-${process.pid}` });
    try {
      await assert.rejects(daytona.create({ id: workspace.id }), DaytonaConflictError);
      const info = await workspace.info();
      assert.equal(info.state, 'started');
      const response = await workspace.process.executeCommand('echo still here');
      assert.equal(response.result, 'still here\n');
    } finally {
      await daytona.remove(workspace);
    }
  });

  test('invalid parameters raise DaytonaBadRequestError (server) or DaytonaError (client) and create nothing', async () => {
    const daytona = new Daytona();
    const id = (n: number): string => `ts-bad-${process.pid}-${n}`;
    await assert.rejects(daytona.create({ id: id(1), resources: { cpu: 0 } }), DaytonaBadRequestError);
    await assert.rejects(daytona.create({ id: id(2), resources: { memory: 100000 } }), DaytonaBadRequestError);
    await assert.rejects(daytona.create({ id: 'bad id with spaces' }), DaytonaBadRequestError);
    await assert.rejects(daytona.create({ id: id(3), language: 'cobol' as never }), /language must be one of/);
    await assert.rejects(daytona.create({ id: id(4), autoStopInterval: -1 }), /autoStopInterval/);
    await assert.rejects(daytona.create({ id: id(5) }, -5), /timeout must be a non-negative/);
    for (const n of [1, 2, 3, 4, 5]) await assert.rejects(daytona.get(id(n)), DaytonaNotFoundError);
  });

  test('a missing key or URL says where to set it', () => {
    const saved = { ...process.env };
    try {
      delete process.env.DAYTONA_API_KEY;
      process.env.DAYTONA_CONFIG_DIR = '/nonexistent-daytona-config';
      assert.throws(() => new Daytona({ serverUrl: server.url }), /API key is required.*DAYTONA_API_KEY/);
      delete process.env.DAYTONA_SERVER_URL;
      assert.throws(() => new Daytona({ apiKey: 'k' }), /Server URL is required.*DAYTONA_SERVER_URL/);
    } finally {
      process.env = saved;
    }
  });
});
