/**
 * A real Daytona server for the tests: `.venv/bin/daytona server` of this repository on a free
 * loopback port, with a temporary data dir and sandboxes with networking off.
 *
 * `test/run.mjs` starts one for the whole run and passes it to the test files through
 * DAYTONA_TEST_SERVER_URL / DAYTONA_TEST_API_KEY; a test file run on its own starts its own.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Daytona } from '@daytonaio/sdk';

/** The repository root: sdk/typescript/build/test -> ../../../.. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const DAYTONA_BIN = join(REPO_ROOT, '.venv', 'bin', 'daytona');
const HEALTH_DEADLINE_S = Number(process.env.DAYTONA_TEST_SERVER_DEADLINE_S || 120);

export interface RunningServer {
  url: string;
  apiKey: string;
  /** Undefined when the server was started by someone else (test/run.mjs). */
  process?: ChildProcess;
  dir?: string;
  logPath?: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Start `daytona server` and wait (up to 120 s) until `GET /api/health` answers 200. */
export async function startServer(): Promise<RunningServer> {
  if (!existsSync(DAYTONA_BIN)) {
    throw new Error(`${DAYTONA_BIN} is missing: run \`make install\` (or \`make test\`) at the repository root first`);
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'daytona-ts-'));
  const apiKey = `dtn_ts_${randomBytes(16).toString('hex')}`;
  const logPath = join(dir, 'server.log');
  const log = openSync(logPath, 'a');
  const child = spawn(DAYTONA_BIN, ['server', '--port', String(port), '--data-dir', join(dir, 'data')], {
    env: { ...process.env, DAYTONA_BOOTSTRAP_API_KEY: apiKey, DAYTONA_NETWORK: 'off' },
    stdio: ['ignore', log, log],
  });
  const server: RunningServer = { url: `http://127.0.0.1:${port}/api`, apiKey, process: child, dir, logPath };
  const deadline = Date.now() + HEALTH_DEADLINE_S * 1000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const text = readFileSync(logPath, 'utf8');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`the server exited (${child.exitCode ?? child.signalCode}):\n${text}`);
    }
    try {
      const response = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(1000) });
      if (response.status === 200) return server;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const text = readFileSync(logPath, 'utf8');
  await stopServer(server);
  throw new Error(`the server did not become healthy within ${HEALTH_DEADLINE_S}s:\n${text}`);
}

/** Remove every sandbox of the server's admin, then stop the server (SIGTERM, SIGKILL after 20 s). */
export async function stopServer(server: RunningServer): Promise<void> {
  try {
    const daytona = new Daytona({ apiKey: server.apiKey, serverUrl: server.url });
    for (const workspace of await daytona.list()) {
      await daytona.remove(workspace).catch(() => undefined);
    }
  } catch {
    // the server may be down already
  }
  const child = server.process;
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }
  if (server.dir) rmSync(server.dir, { recursive: true, force: true });
}

let shared: Promise<RunningServer> | undefined;

/**
 * The server of this run: the one test/run.mjs started (from the environment), or one started
 * for this test file (stopped when the process exits).
 */
export function testServer(): Promise<RunningServer> {
  const url = process.env.DAYTONA_TEST_SERVER_URL;
  const apiKey = process.env.DAYTONA_TEST_API_KEY;
  if (url && apiKey) return Promise.resolve({ url, apiKey });
  shared ??= startServer();
  return shared;
}

/** Stop the server testServer() started for this file, if it started one. */
export async function releaseTestServer(): Promise<void> {
  if (!shared) return;
  const server = await shared;
  shared = undefined;
  await stopServer(server);
}

/** A client of the test server, configured in code as the documentation's examples are. */
export async function testClient(apiKey?: string): Promise<Daytona> {
  const server = await testServer();
  return new Daytona({ apiKey: apiKey ?? server.apiKey, serverUrl: server.url, target: 'us' });
}
