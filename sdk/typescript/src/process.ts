/**
 * `workspace.process`: run commands and code in a sandbox, and keep sessions (long-lived shells).
 * @module
 */
import { DaytonaConnectionError, DaytonaError, DaytonaServerError, DaytonaTimeoutError, ProcessExecutionError } from './errors.js';
import { HttpClient, Query, timeoutSeconds } from './http.js';
import { PtySessions } from './pty.js';
import { connectWebSocket } from './websocket.js';
import {
  CodeLanguage,
  CodeRunParams,
  Command,
  ExecuteOptions,
  ExecuteResponse,
  Session,
  SessionExecuteRequest,
  SessionExecuteResponse,
} from './models.js';

/** Extra time the HTTP call waits beyond a command's own timeout before giving up on the server. */
const HTTP_GRACE_S = 30;
/** The server pings a followed log every 15 s while the command is silent. */
const FOLLOW_READ_TIMEOUT_S = 60;
const RECONNECT_DELAY_MS = 500;

/** Receives output as it is produced. */
export type OutputCallback = (text: string) => void;

/** Callbacks that make `executeCommand` / `codeRun` stream their output as it is produced. */
export interface OutputCallbacks {
  onStdout?: OutputCallback;
  onStderr?: OutputCallback;
}

/** A piece of a command's output: which stream, the text, and the log offset to resume from. */
export interface LogChunk {
  stream: 'stdout' | 'stderr';
  data: string;
  offset: number;
}

/** A read of a command's log from some offset: the text, and where the next read starts. */
export interface CommandLogs {
  output: string;
  stdout: string;
  stderr: string;
  offset: number;
  done: boolean;
  exitCode: number | null;
  truncated: boolean;
}

type Frame = Record<string, unknown>;

function parseFrame(line: string): Frame {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    throw new DaytonaConnectionError(`the server sent a malformed stream line: ${line.slice(0, 200)}`);
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new DaytonaConnectionError(`the server sent a malformed stream line: ${line.slice(0, 200)}`);
  }
  return event as Frame;
}

function toExecuteResponse(data: Record<string, unknown>): ExecuteResponse {
  return {
    exitCode: typeof data.exitCode === 'number' ? data.exitCode : -1,
    result: typeof data.result === 'string' ? data.result : '',
    stdout: typeof data.stdout === 'string' ? data.stdout : '',
    stderr: typeof data.stderr === 'string' ? data.stderr : '',
    timedOut: data.timedOut === true,
  };
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

/** Build the response; throw ProcessExecutionError on a timeout, or a non-zero exit when checked. */
function executionResult(data: Record<string, unknown>, check: boolean, what: string): ExecuteResponse {
  const response = toExecuteResponse(data);
  if (response.timedOut) {
    throw new ProcessExecutionError(`${what} timed out (process tree killed)`, response.exitCode, response.stdout, response.stderr, true);
  }
  if (check && response.exitCode !== 0) {
    const detail = lastLine(response.stderr);
    throw new ProcessExecutionError(
      `${what} exited with code ${response.exitCode}${detail ? `: ${detail}` : ''}`,
      response.exitCode,
      response.stdout,
      response.stderr,
    );
  }
  return response;
}

function checkString(value: unknown, name: string): string {
  if (typeof value !== 'string' || !value) throw new DaytonaError(`${name} must be a non-empty string`);
  return value;
}

function stripUndefined(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined && v !== null));
}

/** Process and code execution in one sandbox, as its user; PTY terminals (pty.ts) too. */
export class Process extends PtySessions {
  readonly #http: HttpClient;
  readonly #language: CodeLanguage;
  readonly #base: string;

  /** @internal */
  constructor(http: HttpClient, workspaceId: string, language: CodeLanguage) {
    const base = `/toolbox/${encodeURIComponent(workspaceId)}/toolbox/process`;
    super(http, base);
    this.#http = http;
    this.#language = language;
    this.#base = base;
  }

  /**
   * Run `command` through a shell as the sandbox user, in `cwd` (default: the user's home).
   *
   * `timeout` is in seconds (0 or absent: no limit); when it passes, the whole process tree is
   * killed and ProcessExecutionError is thrown. With `check: true` a non-zero exit throws too;
   * `onStdout` / `onStderr` receive the output as it is produced.
   */
  async executeCommand(
    command: string,
    cwd?: string,
    timeout?: number,
    options: Omit<ExecuteOptions, 'cwd' | 'timeout'> & OutputCallbacks = {},
  ): Promise<ExecuteResponse> {
    if (typeof command !== 'string') throw new DaytonaError('command must be a string');
    const seconds = timeoutSeconds(timeout);
    const body = stripUndefined({ command, cwd, timeout: seconds, env: options.env });
    const data = await this.#run('execute', body, seconds, options);
    return executionResult(data, options.check ?? false, `command ${JSON.stringify(command)}`);
  }

  /** `executeCommand` with every option in one object (the Python SDK's `exec`). */
  async exec(command: string, options: ExecuteOptions & OutputCallbacks = {}): Promise<ExecuteResponse> {
    const { cwd, timeout, ...rest } = options;
    return this.executeCommand(command, cwd, timeout, rest);
  }

  /**
   * Run `code` in the sandbox's language (python, javascript or typescript).
   *
   * `params` carries `argv`, `env`, `input` (fed to stdin), `timeout` (seconds) and `check`;
   * a `timeout` given as third argument wins over the one in `params`.
   */
  async codeRun(code: string, params: CodeRunParams & OutputCallbacks = {}, timeout?: number): Promise<ExecuteResponse> {
    if (typeof code !== 'string') throw new DaytonaError('code must be a string');
    const seconds = timeoutSeconds(timeout ?? params.timeout);
    const body = stripUndefined({
      code,
      language: this.#language,
      argv: params.argv,
      env: params.env,
      input: params.input,
      timeout: seconds,
    });
    const data = await this.#run('code-run', body, seconds, params);
    return executionResult(data, params.check ?? false, `${this.#language} code`);
  }

  async #run(
    endpoint: string,
    body: Record<string, unknown>,
    seconds: number | null,
    callbacks: OutputCallbacks,
  ): Promise<Record<string, unknown>> {
    const httpTimeout = seconds ? seconds + HTTP_GRACE_S : null;
    const path = `${this.#base}/${endpoint}`;
    if (!callbacks.onStdout && !callbacks.onStderr) {
      return this.#http.request<Record<string, unknown>>('POST', path, { json: body, timeout: httpTimeout });
    }
    const texts = { stdout: [] as string[], stderr: [] as string[], combined: [] as string[] };
    let end: Frame | undefined;
    for await (const line of this.#lines('POST', path, { stream: 'true' }, httpTimeout, body)) {
      const event = parseFrame(line);
      if (event.type === 'stdout' || event.type === 'stderr') {
        const data = String(event.data ?? '');
        texts[event.type].push(data);
        texts.combined.push(data);
        (event.type === 'stdout' ? callbacks.onStdout : callbacks.onStderr)?.(data);
      } else if (event.type === 'end') {
        end = event;
      }
    }
    if (!end) throw new DaytonaConnectionError('the output stream ended before the command did');
    let combined = texts.combined.join('');
    if (end.message) combined += `\n[${String(end.message)}]\n`;
    return {
      exitCode: end.exitCode ?? -1,
      result: combined,
      stdout: texts.stdout.join(''),
      stderr: texts.stderr.join(''),
      timedOut: end.timedOut === true,
    };
  }

  /** The NDJSON lines of a streamed answer. */
  async *#lines(
    method: string,
    path: string,
    query: Query,
    timeout: number | null,
    json?: unknown,
  ): AsyncGenerator<string, void, undefined> {
    const init =
      json === undefined
        ? { query, timeout }
        : { query, timeout, body: JSON.stringify(json), headers: { 'Content-Type': 'application/json' } };
    const streamed = await this.#http.stream(method, path, init);
    const decoder = new TextDecoder();
    let pending = '';
    for await (const chunk of streamed.chunks()) {
      pending += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line) yield line;
      }
    }
    pending += decoder.decode();
    if (pending.trim()) yield pending.trim();
  }

  // -- sessions ----------------------------------------------------------------------------------

  #sessionPath(sessionId: string, commandId?: string, tail = ''): string {
    let path = `${this.#base}/session/${encodeURIComponent(checkString(sessionId, 'sessionId'))}`;
    if (commandId !== undefined) path += `/command/${encodeURIComponent(checkString(commandId, 'commandId'))}`;
    return path + tail;
  }

  /**
   * Start a session: a shell that keeps its working directory and variables between commands.
   * An existing id throws DaytonaConflictError.
   */
  async createSession(sessionId: string): Promise<void> {
    await this.#http.request('POST', `${this.#base}/session`, { json: { sessionId: checkString(sessionId, 'sessionId') } });
  }

  /** The session and its commands (id, command, exit code; null while running). */
  async getSession(sessionId: string): Promise<Session> {
    return this.#http.request<Session>('GET', this.#sessionPath(sessionId));
  }

  /** Every session of the sandbox. */
  async listSessions(): Promise<Session[]> {
    return this.#http.request<Session[]>('GET', `${this.#base}/session`);
  }

  /** Kill every process of the session and forget it, logs included. */
  async deleteSession(sessionId: string): Promise<void> {
    await this.#http.request('DELETE', this.#sessionPath(sessionId));
  }

  /**
   * Run a command in the session's shell (`cd`, `export` and the like persist).
   *
   * Async (`async: true` or `runAsync: true`): returns the command id at once; follow it with
   * `getSessionCommand` / `getSessionCommandLogs`. Sync: waits for it and returns its output and
   * exit code; after `timeout` seconds its processes are killed and ProcessExecutionError is
   * thrown (as with `check: true` and a non-zero exit).
   */
  async executeSessionCommand(
    sessionId: string,
    req: SessionExecuteRequest | string,
    timeout?: number,
    options: { check?: boolean } = {},
  ): Promise<SessionExecuteResponse> {
    const request: SessionExecuteRequest = typeof req === 'string' ? { command: req } : req;
    if (!request || typeof request.command !== 'string') throw new DaytonaError('req.command must be a string');
    if (request.async !== undefined && request.runAsync !== undefined && request.async !== request.runAsync) {
      throw new DaytonaError('async and runAsync disagree: set only one of them');
    }
    const runAsync = Boolean(request.runAsync ?? request.async);
    const seconds = timeoutSeconds(timeout ?? request.timeout);
    const body = stripUndefined({ command: request.command, async: runAsync, runAsync, timeout: seconds });
    const httpTimeout = runAsync ? 60 : seconds ? seconds + HTTP_GRACE_S : null;
    const data = await this.#http.request<SessionExecuteResponse>('POST', this.#sessionPath(sessionId, undefined, '/exec'), {
      json: body,
      timeout: httpTimeout,
    });
    const stdout = data.stdout ?? '';
    const stderr = data.stderr ?? '';
    const what = `session command ${JSON.stringify(request.command)}`;
    if (data.timedOut) {
      throw new ProcessExecutionError(`${what} timed out (its processes were killed)`, data.exitCode ?? 124, stdout, stderr, true);
    }
    if (options.check && !runAsync && data.exitCode) {
      const detail = lastLine(stderr);
      throw new ProcessExecutionError(`${what} exited with code ${data.exitCode}${detail ? `: ${detail}` : ''}`, data.exitCode, stdout, stderr);
    }
    return data;
  }

  /** A command of a session: id, command line, and exit code (null while it runs). */
  async getSessionCommand(sessionId: string, commandId: string): Promise<Command> {
    return this.#http.request<Command>('GET', this.#sessionPath(sessionId, commandId));
  }

  /** The command's whole output so far (stdout and stderr interleaved as produced). */
  async getSessionCommandLogs(sessionId: string, commandId: string): Promise<string> {
    const streamed = await this.#http.stream('GET', this.#sessionPath(sessionId, commandId, '/logs'));
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of streamed.chunks()) text += decoder.decode(chunk, { stream: true });
    return text + decoder.decode();
  }

  /** The output from byte `offset` of the log on, stdout and stderr apart; `.offset` is where the next read starts. */
  async readSessionCommandLogs(sessionId: string, commandId: string, offset = 0): Promise<CommandLogs> {
    if (!Number.isInteger(offset) || offset < 0) throw new DaytonaError('offset must be a non-negative byte offset');
    const texts = { stdout: [] as string[], stderr: [] as string[], combined: [] as string[] };
    let end: Frame | undefined;
    const path = this.#sessionPath(sessionId, commandId, '/logs');
    for await (const line of this.#lines('GET', path, { format: 'ndjson', offset }, 60)) {
      const event = parseFrame(line);
      if (event.type === 'stdout' || event.type === 'stderr') {
        texts[event.type].push(String(event.data ?? ''));
        texts.combined.push(String(event.data ?? ''));
      } else if (event.type === 'end') {
        end = event;
      }
    }
    if (!end) throw new DaytonaConnectionError('the log stream ended early');
    return {
      output: texts.combined.join(''),
      stdout: texts.stdout.join(''),
      stderr: texts.stderr.join(''),
      offset: Number(end.offset ?? 0),
      done: end.done === true,
      exitCode: typeof end.exitCode === 'number' ? end.exitCode : null,
      truncated: end.truncated === true,
    };
  }

  /**
   * Yield the command's output as it is produced, from byte `offset`, until the command ends
   * (followed over a WebSocket). A broken connection is resumed from the last offset for up to `reconnectTimeout` seconds.
   */
  async *streamSessionCommandLogs(
    sessionId: string,
    commandId: string,
    offset = 0,
    reconnectTimeout = 30,
  ): AsyncGenerator<LogChunk, void, undefined> {
    if (!Number.isInteger(offset) || offset < 0) throw new DaytonaError('offset must be a non-negative byte offset');
    const path = this.#sessionPath(sessionId, commandId, '/logs');
    let position = offset;
    let failingSince: number | undefined;
    // Over a WebSocket, as today's SDKs follow logs: each message is one stream's bytes after its
    // marker; each stream is decoded on its own, so a character split across messages stays whole.
    const decoders = { stdout: new TextDecoder('utf-8'), stderr: new TextDecoder('utf-8') };
    for (;;) {
      try {
        const { url, headers } = this.#http.websocketTarget(path, { follow: 'true', offset: position });
        const ws = await connectWebSocket(url, { headers, timeoutMs: FOLLOW_READ_TIMEOUT_S * 1000 });
        const queue: Array<Buffer | null> = [];
        let wake: (() => void) | undefined;
        ws.onmessage = (data) => {
          queue.push(data);
          wake?.();
        };
        ws.onclose = () => {
          queue.push(null);
          wake?.();
        };
        for (;;) {
          while (!queue.length) await new Promise<void>((resolve) => (wake = resolve));
          const data = queue.shift() as Buffer | null;
          if (data === null) break;
          failingSince = undefined;
          const stream = data[0] === 1 ? 'stdout' : data[0] === 2 ? 'stderr' : undefined;
          if (stream === undefined) throw new DaytonaConnectionError('the server sent a log message without a stream marker');
          position += data.length - 3;
          const text = decoders[stream].decode(data.subarray(3), { stream: true });
          if (text) yield { stream, data: text, offset: position };
        }
        if (ws.closeCode === 1000) {
          for (const stream of ['stdout', 'stderr'] as const) {
            const tail = decoders[stream].decode();
            if (tail) yield { stream, data: tail, offset: position };
          }
          return;
        }
        throw new DaytonaConnectionError(`the log stream closed (${ws.closeCode} ${ws.closeReason})`);
      } catch (error) {
        const transient =
          error instanceof DaytonaConnectionError ||
          error instanceof DaytonaTimeoutError ||
          (error instanceof DaytonaServerError && [502, 503, 504].includes(error.statusCode));
        if (!transient) throw error;
        const now = Date.now();
        failingSince ??= now;
        if (now - failingSince > reconnectTimeout * 1000) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS));
    }
  }

  /**
   * Call `onStdout` / `onStderr` with the output as it is produced; return the ended command.
   * Without `onStderr`, stderr goes to `onStdout` too (the combined log).
   */
  async followSessionCommandLogs(
    sessionId: string,
    commandId: string,
    onStdout: OutputCallback,
    onStderr?: OutputCallback,
    offset = 0,
  ): Promise<Command> {
    for await (const chunk of this.streamSessionCommandLogs(sessionId, commandId, offset)) {
      (chunk.stream === 'stderr' && onStderr ? onStderr : onStdout)(chunk.data);
    }
    return this.getSessionCommand(sessionId, commandId);
  }

  /** Write `data` to the stdin of a running command; `eof: true` then closes its stdin. */
  async sendSessionCommandInput(sessionId: string, commandId: string, data: string, eof = false): Promise<void> {
    await this.#http.request('POST', this.#sessionPath(sessionId, commandId, '/input'), { json: { data, eof } });
  }
}
