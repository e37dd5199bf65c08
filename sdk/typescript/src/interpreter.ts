/**
 * The stateful code interpreter: `workspace.codeInterpreter.runCode(code, { onStdout, ... })` runs
 * python whose variables, imports and functions stay for the next run, with the names today's
 * Daytona SDK gives these calls. Contexts (`createContext`) are isolated from each other; runs
 * without one share the default context.
 *
 * A run is one WebSocket: the first message `{code, contextId?, envs?, timeout?, charts: true}`,
 * then the server's `stdout`, `stderr`, `error` and `chart` messages, and a close: 1000 when the run
 * ended, 4008 when it timed out, 4000 + an HTTP status on a refusal (4404: no such context).
 * @module
 */
import { DaytonaBadRequestError, DaytonaConnectionError, DaytonaError, DaytonaTimeoutError, errorForStatus } from './errors.js';
import { HttpClient } from './http.js';
import { connectWebSocket } from './websocket.js';

const TIMEOUT_CLOSE = 4008;

/** A piece of stdout or stderr, as the code wrote it. */
export interface OutputMessage {
  output: string;
}

/** An exception the code raised: its class name, its message and the formatted traceback. */
export interface ExecutionError {
  name: string;
  value: string;
  traceback: string;
}

/** A run's whole output; `error` when the code raised; `charts`: the matplotlib figures it showed. */
export interface ExecutionResult {
  stdout: string;
  stderr: string;
  error?: ExecutionError;
  charts: Record<string, unknown>[];
}

/** An isolated interpreter context: its own python process, variables and working directory. */
export interface InterpreterContext {
  id: string;
  cwd: string;
  language: string;
  active: boolean;
  createdAt: string;
}

export interface RunCodeOptions {
  /** The context to run in (default: the default one). */
  context?: InterpreterContext | string;
  /** Set for this run only. */
  envs?: Record<string, string>;
  /** Seconds (server default 600, 0 for none); past it the code is interrupted and DaytonaTimeoutError thrown. */
  timeout?: number;
  onStdout?: (message: OutputMessage) => void | Promise<void>;
  onStderr?: (message: OutputMessage) => void | Promise<void>;
  onError?: (error: ExecutionError) => void | Promise<void>;
}

/** The run's first message. */
export function executeRequest(code: string, options: RunCodeOptions = {}): string {
  if (typeof code !== 'string' || !code.trim()) throw new DaytonaError('code is required: a non-empty string of python');
  const body: Record<string, unknown> = { code, charts: true };
  const contextId = typeof options.context === 'string' ? options.context : options.context?.id;
  if (contextId) body.contextId = contextId;
  if (options.envs !== undefined) {
    if (!Object.values(options.envs).every((v) => typeof v === 'string')) throw new DaytonaError('envs must be strings');
    body.envs = options.envs;
  }
  if (options.timeout !== undefined) {
    if (typeof options.timeout !== 'number' || !(options.timeout >= 0)) {
      throw new DaytonaError('timeout must be a non-negative number of seconds (0 = no timeout)');
    }
    body.timeout = options.timeout;
  }
  return JSON.stringify(body);
}

/** The error a run's close code means; undefined for a run that ended (1000). */
export function closeError(code: number, reason: string): DaytonaError | undefined {
  if (code === 1000) return undefined;
  if (code === TIMEOUT_CLOSE) return new DaytonaTimeoutError(`interpreter run ${reason || 'timed out'} (a larger timeout gives it longer)`);
  if (code >= 4400 && code < 4600) return errorForStatus(code - 4000, reason || `the interpreter refused the run (close code ${code})`);
  if (code === 1007 || code === 1009) return new DaytonaBadRequestError(reason || 'the server refused the request message', 400);
  return new DaytonaConnectionError(`${reason || 'the interpreter connection closed unexpectedly'} (close code ${code})`);
}

/** Add one server message to `result`; returns the callback call it makes, if any. */
export function applyMessage(result: ExecutionResult, raw: string, options: RunCodeOptions): (() => unknown) | undefined {
  let message: Record<string, unknown>;
  try {
    message = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!message || typeof message !== 'object') return undefined;
  const text = typeof message.text === 'string' ? message.text : '';
  switch (message.type) {
    case 'stdout':
      result.stdout += text;
      return options.onStdout && (() => options.onStdout?.({ output: text }));
    case 'stderr':
      result.stderr += text;
      return options.onStderr && (() => options.onStderr?.({ output: text }));
    case 'error': {
      const error = { name: String(message.name ?? ''), value: String(message.value ?? ''), traceback: String(message.traceback ?? '') };
      result.error = error;
      return options.onError && (() => options.onError?.(error));
    }
    case 'chart':
      if (message.chart && typeof message.chart === 'object') result.charts.push(message.chart as Record<string, unknown>);
      return undefined;
    default:
      return undefined;
  }
}

/** `workspace.codeInterpreter`. */
export class CodeInterpreter {
  readonly #http: HttpClient;
  readonly #base: string;

  /** @internal */
  constructor(http: HttpClient, workspaceId: string) {
    this.#http = http;
    this.#base = `/toolbox/${encodeURIComponent(workspaceId)}/toolbox/process/interpreter`;
  }

  /** Run python `code`; callbacks get its output and error as they come, in order. */
  async runCode(code: string, options: RunCodeOptions = {}): Promise<ExecutionResult> {
    const request = executeRequest(code, options);
    const { url, headers } = this.#http.websocketTarget(`${this.#base}/execute`);
    const ws = await connectWebSocket(url, { headers });
    const result: ExecutionResult = { stdout: '', stderr: '', charts: [] };
    let callbacks: Promise<unknown> = Promise.resolve();
    const ended = new Promise<[number, string]>((resolve) => {
      ws.onclose = (closeCode, reason) => resolve([closeCode, reason]);
    });
    ws.onmessage = (data) => {
      const call = applyMessage(result, data.toString('utf8'), options);
      if (call) callbacks = callbacks.then(call);
    };
    ws.flush();
    try {
      await ws.send(request);
    } catch {
      // closed at once: the close code says why
    }
    const [closeCode, reason] = await ended;
    await callbacks;
    const error = closeError(closeCode, reason);
    if (error) throw error;
    return result;
  }

  /** A new isolated context (its own process) working in `cwd` (default: the user's home). */
  async createContext(cwd?: string): Promise<InterpreterContext> {
    return this.#http.request<InterpreterContext>('POST', `${this.#base}/context`, { json: { cwd, language: 'python' } });
  }

  /** The contexts made with `createContext` (not the default one). */
  async listContexts(): Promise<InterpreterContext[]> {
    const data = await this.#http.request<{ contexts?: InterpreterContext[] }>('GET', `${this.#base}/context`);
    return data?.contexts ?? [];
  }

  /** Delete a context and kill its process (and what it started); its variables are gone. */
  async deleteContext(context: InterpreterContext | string): Promise<void> {
    const id = typeof context === 'string' ? context : context.id;
    await this.#http.request('DELETE', `${this.#base}/context/${encodeURIComponent(id)}`);
  }
}
