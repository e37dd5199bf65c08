// The SDK without a Daytona server: configuration precedence, the package's two builds, and the
// HTTP layer (error mapping, retries, timeouts, clean-up after a failed create, upload wire format)
// against a small local HTTP server that answers as told.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';

import * as sdk from '@daytonaio/sdk';
import {
  Daytona,
  DaytonaApiError,
  DaytonaAuthenticationError,
  DaytonaBadRequestError,
  DaytonaConflictError,
  DaytonaConnectionError,
  DaytonaError,
  DaytonaForbiddenError,
  DaytonaNotFoundError,
  DaytonaRateLimitError,
  DaytonaServerError,
  DaytonaTimeoutError,
  ProcessExecutionError,
} from '@daytonaio/sdk';

import { freePort } from './server.js';

const ENV_NAMES = ['DAYTONA_API_KEY', 'DAYTONA_SERVER_URL', 'DAYTONA_TARGET', 'DAYTONA_CONFIG_DIR', 'XDG_CONFIG_HOME'];

describe('configuration', () => {
  let dir: string;
  let cwd: string;
  const saved: Record<string, string | undefined> = {};

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'daytona-ts-config-'));
    cwd = process.cwd();
    process.chdir(dir);
    for (const name of ENV_NAMES) {
      saved[name] = process.env[name];
      delete process.env[name];
    }
    process.env.DAYTONA_CONFIG_DIR = join(dir, 'config');
  });

  afterEach(() => {
    process.chdir(cwd);
    for (const name of ENV_NAMES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    rmSync(dir, { recursive: true, force: true });
  });

  function writeConfigFile(data: unknown): void {
    const configDir = join(dir, 'config');
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(configDir, 'config.json'), typeof data === 'string' ? data : JSON.stringify(data));
  }

  test('code > environment > .env > config file > defaults, field by field', () => {
    writeConfigFile({ apiKey: 'file-key', serverUrl: 'http://file:3000/api', target: 'asia' });
    let daytona = new Daytona();
    assert.deepEqual([daytona.apiKey, daytona.serverUrl, daytona.target], ['file-key', 'http://file:3000/api', 'asia']);

    writeFileSync(join(dir, '.env'), '# settings\nDAYTONA_API_KEY=dotenv-key\nexport DAYTONA_SERVER_URL="http://dotenv:3000/api/"\n');
    daytona = new Daytona();
    assert.deepEqual([daytona.apiKey, daytona.serverUrl, daytona.target], ['dotenv-key', 'http://dotenv:3000/api', 'asia']);

    process.env.DAYTONA_API_KEY = 'env-key';
    process.env.DAYTONA_TARGET = 'eu';
    daytona = new Daytona();
    assert.deepEqual([daytona.apiKey, daytona.serverUrl, daytona.target], ['env-key', 'http://dotenv:3000/api', 'eu']);

    daytona = new Daytona({ apiKey: 'code-key', serverUrl: 'http://code:3000/api' });
    assert.deepEqual([daytona.apiKey, daytona.serverUrl, daytona.target], ['code-key', 'http://code:3000/api', 'eu']);
  });

  test('the target defaults to us; the config file is found under XDG_CONFIG_HOME too', () => {
    delete process.env.DAYTONA_CONFIG_DIR;
    process.env.XDG_CONFIG_HOME = join(dir, 'xdg');
    mkdirSync(join(dir, 'xdg', 'daytona'), { recursive: true });
    writeFileSync(join(dir, 'xdg', 'daytona', 'config.json'), JSON.stringify({ apiKey: 'xdg-key', serverUrl: 'http://xdg/api' }));
    const daytona = new Daytona();
    assert.deepEqual([daytona.apiKey, daytona.serverUrl, daytona.target], ['xdg-key', 'http://xdg/api', 'us']);
  });

  test('.env values: quotes, escapes, comments, empty values', () => {
    writeFileSync(
      join(dir, '.env'),
      [
        "DAYTONA_API_KEY='single # not a comment'",
        'DAYTONA_SERVER_URL=http://h:1/api # a comment',
        'DAYTONA_TARGET=',
        'OTHER="a\\"b"',
      ].join('\n'),
    );
    const daytona = new Daytona();
    assert.equal(daytona.apiKey, 'single # not a comment');
    assert.equal(daytona.serverUrl, 'http://h:1/api');
    assert.equal(daytona.target, 'us');
  });

  test('a missing key or URL, a bad URL or a broken config file raise DaytonaError saying what to do', () => {
    assert.throws(() => new Daytona(), (e: unknown) => e instanceof DaytonaError && /API key is required.*DAYTONA_API_KEY.*daytona login/.test(e.message));
    assert.throws(() => new Daytona({ apiKey: 'k' }), /Server URL is required.*DAYTONA_SERVER_URL/);
    assert.throws(() => new Daytona({ apiKey: 'k', serverUrl: 'not a url' }), /is not a URL/);
    assert.throws(() => new Daytona({ apiKey: 'k', serverUrl: 'ftp://x/api' }), /must start with http/);
    assert.throws(() => new Daytona({ apiKey: 42 as never, serverUrl: 'http://x/api' }), /apiKey must be a string/);
    writeConfigFile('{broken');
    assert.throws(() => new Daytona(), (e: unknown) => e instanceof DaytonaError && e.message.includes(join(dir, 'config', 'config.json')));
  });
});

describe('package', () => {
  test('the CommonJS build exports the same names, with working classes', () => {
    const require = createRequire(import.meta.url);
    const cjs = require('@daytonaio/sdk') as typeof sdk;
    assert.deepEqual(Object.keys(cjs).sort(), Object.keys(sdk).sort());
    const daytona = new cjs.Daytona({ apiKey: 'k', serverUrl: 'http://127.0.0.1:1/api' });
    assert.equal(daytona.target, 'us');
    const error = new cjs.DaytonaNotFoundError('gone', 404);
    assert.ok(error instanceof cjs.DaytonaApiError && error instanceof cjs.DaytonaError && error instanceof Error);
    assert.equal(error.name, 'DaytonaNotFoundError');
  });

  test('the public names: the error tree, Sandbox aliases, enums', () => {
    for (const name of [
      'Daytona',
      'Workspace',
      'Sandbox',
      'Process',
      'FileSystem',
      'Git',
      'LspServer',
      'LspLanguageId',
      'CodeLanguage',
      'WorkspaceState',
      'SandboxState',
      'ProcessExecutionError',
    ]) {
      assert.ok(name in sdk, name);
    }
    assert.equal(sdk.Sandbox, sdk.Workspace);
    assert.equal(sdk.LspLanguageId.TYPESCRIPT, 'typescript');
    for (const cls of [
      DaytonaBadRequestError,
      DaytonaAuthenticationError,
      DaytonaForbiddenError,
      DaytonaNotFoundError,
      DaytonaConflictError,
      DaytonaRateLimitError,
      DaytonaServerError,
    ]) {
      assert.ok(new cls('m', 400) instanceof DaytonaApiError);
    }
    for (const cls of [DaytonaConnectionError, DaytonaTimeoutError]) assert.ok(new cls('m') instanceof DaytonaError);
    const failed = new ProcessExecutionError('m', 2, 'out', 'err');
    assert.deepEqual([failed.exitCode, failed.stdout, failed.stderr, failed.timedOut], [2, 'out', 'err', false]);
  });
});

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

describe('HTTP layer', () => {
  let server: Server;
  let url: string;
  let handler: Handler;
  let seen: { method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }[];

  const workspaceJson = (id = 'ws1', state = 'started') =>
    JSON.stringify({ id, labels: {}, info: { providerMetadata: JSON.stringify({ state }) } });

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        handler(req, res, body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    url = `http://127.0.0.1:${address.port}/api`;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  beforeEach(() => {
    seen = [];
  });

  const client = (): Daytona => new Daytona({ apiKey: 'dtn_unit', serverUrl: url });
  const answer = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };

  test('each status maps onto its error class, with statusCode, message and body', async () => {
    const cases: [number, new (...args: never[]) => DaytonaApiError][] = [
      [400, DaytonaBadRequestError],
      [401, DaytonaAuthenticationError],
      [403, DaytonaForbiddenError],
      [404, DaytonaNotFoundError],
      [409, DaytonaConflictError],
      [422, DaytonaBadRequestError],
      [429, DaytonaRateLimitError],
      [500, DaytonaServerError],
      [418, DaytonaApiError],
    ];
    for (const [status, cls] of cases) {
      handler = (_req, res) => answer(res, status, { statusCode: status, message: `told ${status}`, error: 'x' }, { 'Retry-After': '0' });
      const error = await client()
        .get('ws1')
        .then(
          () => assert.fail('no error'),
          (e: unknown) => e,
        );
      assert.ok(error instanceof cls, `${status}: ${String(error)}`);
      assert.equal((error as DaytonaApiError).statusCode, status);
      assert.equal((error as DaytonaApiError).message, `told ${status}`);
      assert.deepEqual((error as DaytonaApiError).body, { statusCode: status, message: `told ${status}`, error: 'x' });
    }
    handler = (_req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('plain text answer');
    };
    await assert.rejects(client().get('ws1'), (e: unknown) => e instanceof DaytonaNotFoundError && e.message === 'plain text answer');
  });

  test('the API key is sent as a Bearer token', async () => {
    handler = (_req, res) => answer(res, 200, []);
    await client().list({ project: 'x' });
    assert.equal(seen[0]?.headers.authorization, 'Bearer dtn_unit');
    assert.equal(seen[0]?.url, `/api/workspace?labels=${encodeURIComponent('{"project":"x"}')}`);
  });

  test('idempotent requests are retried on 502/503/504 (honouring Retry-After), a bounded number of times', async () => {
    let calls = 0;
    handler = (_req, res) => (++calls < 3 ? answer(res, 503, { message: 'busy' }, { 'Retry-After': '0' }) : answer(res, 200, workspaceJson()));
    const workspace = await client().get('ws1');
    assert.equal(workspace.id, 'ws1');
    assert.equal(calls, 3);

    calls = 0;
    handler = (_req, res) => {
      calls++;
      answer(res, 502, { message: 'bad gateway' }, { 'Retry-After': '0' });
    };
    await assert.rejects(client().get('ws1'), DaytonaServerError);
    assert.equal(calls, 4); // the first try and 3 retries
  });

  test('a POST is not repeated after a failure answer', async () => {
    handler = (req, res) =>
      req.method === 'POST' ? answer(res, 503, { message: 'busy' }, { 'Retry-After': '0' }) : answer(res, 200, {}, {});
    await assert.rejects(client().create({ id: 'p1' }), DaytonaServerError);
    assert.deepEqual(
      seen.map((r) => r.method),
      ['POST', 'DELETE'], // one try, then the clean-up of what may have been made
    );
  });

  test('create removes a half-made sandbox on 5xx and timeouts, never on 4xx', async () => {
    for (const status of [400, 401, 409, 422]) {
      seen = [];
      handler = (_req, res) => answer(res, status, { message: 'no' });
      await assert.rejects(client().create({ id: 'mine' }), DaytonaApiError);
      assert.deepEqual(
        seen.map((r) => r.method),
        ['POST'],
        `status ${status}`,
      );
    }
    // created, but it never gets to `started`: DaytonaTimeoutError, then removed
    seen = [];
    handler = (req, res) => answer(res, 200, req.method === 'POST' || req.method === 'GET' ? workspaceJson('slow', 'creating') : {});
    await assert.rejects(client().create({ id: 'slow' }, 0.5), DaytonaTimeoutError);
    const last = seen.at(-1);
    assert.equal(last?.method, 'DELETE');
    assert.equal(last?.url, '/api/workspace/slow?force=true');
    // the sandbox went to `error`: DaytonaError with the reason
    handler = (req, res) =>
      answer(res, 200, req.method === 'DELETE' ? {} : { ...JSON.parse(workspaceJson('broken', 'error')), errorReason: 'image missing' });
    await assert.rejects(client().create({ id: 'broken' }), /state error: image missing/);
  });

  test('create sends the language label and the documented fields', async () => {
    handler = (_req, res) => answer(res, 200, workspaceJson("made"));
    const workspace = await client().create({
      language: 'typescript',
      id: 'made',
      image: 'debian:12',
      envVars: { A: '1' },
      labels: { team: 'x' },
      resources: { cpu: 2, memory: 4, disk: 10 },
      autoStopInterval: 0,
      public: true,
    });
    assert.equal(workspace.id, 'made');
    const body = JSON.parse(seen[0]?.body.toString() ?? '{}');
    assert.deepEqual(body, {
      id: 'made',
      name: 'made',
      image: 'debian:12',
      user: 'daytona',
      env: { A: '1' },
      labels: { team: 'x', 'code-toolbox-language': 'typescript' },
      public: true,
      target: 'us',
      autoStopInterval: 0,
      cpu: 2,
      memory: 4,
      disk: 10,
    });
    const before = seen.length;
    const generated = await client().create();
    assert.equal(seen.length, before + 1); // answered started: nothing to wait for
    assert.match(JSON.parse(seen.at(-1)?.body.toString() ?? '{}').id, /^sandbox-[0-9a-f]{8}$/);
    assert.equal(generated.id, 'made'); // what the server answered
  });

  test('an unreachable server raises DaytonaConnectionError, after retries', async () => {
    const port = await freePort();
    const daytona = new Daytona({ apiKey: 'k', serverUrl: `http://127.0.0.1:${port}/api` });
    const error = await daytona.list().then(
      () => assert.fail('no error'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof DaytonaConnectionError, String(error));
    assert.match(error.message, /cannot reach the Daytona server.*ECONNREFUSED/);
  });

  test('uploads are multipart with Content-Length when the size is known, chunked otherwise', async () => {
    handler = (req, res) => answer(res, 200, req.url?.includes('/upload') ? '' : workspaceJson());
    const workspace = await client().get('ws1');
    const content = Buffer.from('x'.repeat(100_000));
    await workspace.fs.uploadFile('/workspace/a b.bin', new Blob([content]));
    const upload = seen.at(-1);
    assert.ok(upload);
    assert.equal(upload.url, '/api/toolbox/ws1/toolbox/files/upload?path=%2Fworkspace%2Fa+b.bin');
    assert.equal(upload.headers['content-length'], String(upload.body.length));
    assert.equal(upload.headers['transfer-encoding'], undefined);
    const boundary = /boundary=(.+)$/.exec(upload.headers['content-type'] ?? '')?.[1];
    assert.ok(boundary);
    const text = upload.body.toString('latin1');
    assert.ok(text.startsWith(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a b.bin"\r\n`));
    assert.ok(text.endsWith(`\r\n--${boundary}--\r\n`));
    assert.ok(upload.body.includes(content));

    await workspace.fs.uploadFile('/workspace/s.txt', Readable.from([Buffer.from('abc'), Buffer.from('def')]));
    const chunked = seen.at(-1);
    assert.equal(chunked?.headers['transfer-encoding'], 'chunked');
    assert.equal(chunked?.headers['content-length'], undefined);
    assert.ok(chunked?.body.includes(Buffer.from('abcdef')));

    await assert.rejects(workspace.fs.uploadFile('/workspace/o.txt', Readable.from([{ not: 'bytes' }])), /stream of bytes/);
    await assert.rejects(workspace.fs.uploadFile('/workspace/o.txt', 'x', { size: -1 }), /size must be a non-negative integer/);

    handler = (req, res) => answer(res, req.url?.includes('/upload') ? 404 : 200, req.url?.includes('/upload') ? { message: 'no dir' } : workspaceJson());
    await assert.rejects(workspace.fs.uploadFile('/nowhere/x', 'data'), (e: unknown) => e instanceof DaytonaNotFoundError && e.message === 'no dir');
  });
});
