/**
 * PTY terminals: `workspace.process.createPty({ id, onData })` opens an interactive shell in the
 * sandbox, with the names today's Daytona SDK gives these calls.
 *
 * A terminal belongs to the sandbox, not to the connection: `disconnect()` leaves its shell running,
 * and `connectPty(id, { onData })` attaches again and first replays the scrollback (its last 256 KiB
 * of output). One connection per terminal at a time: a second one throws DaytonaConflictError.
 * @module
 */
import { DaytonaConnectionError, DaytonaError, DaytonaTimeoutError } from './errors.js';
import { HttpClient } from './http.js';
import { connectWebSocket, WebSocketConnection } from './websocket.js';

const EXIT_CONTROL_PROTOCOL = 'X-Daytona-Pty-Exit-Control';
const ENVS_PROTOCOL_PREFIX = 'X-Daytona-Pty-Envs~';
/** Input goes out in messages of at most this size (the proxy and the agent take 4 MiB at most). */
const INPUT_CHUNK = 1024 * 1024;
const CONNECT_TIMEOUT_MS = 10_000;

/** A terminal of the sandbox; `active` while its shell runs. */
export interface PtySessionInfo {
  id: string;
  cwd: string;
  envs: Record<string, string>;
  cols: number;
  rows: number;
  createdAt: string;
  active: boolean;
  lazyStart: boolean;
}

export interface PtyCreateOptions {
  /** The terminal's id, unique in the sandbox. */
  id: string;
  /** Where the shell starts (default: the user's home). */
  cwd?: string;
  envs?: Record<string, string>;
  /** Size in character cells (default 80x24; 1 to 1000 each). */
  cols?: number;
  rows?: number;
}

export interface PtyConnectOptions {
  /** Receives the terminal's output as it comes. */
  onData?: (data: Uint8Array) => void | Promise<void>;
}

/** How a terminal ended: `exitCode` (137 when killed) and `error` (why, when not cleanly). */
export interface PtyResult {
  exitCode?: number;
  error?: string;
}

/** One connection to a terminal: send input, resize, wait for the exit, kill, disconnect. */
export class PtyHandle {
  readonly sessionId: string;
  readonly #ws: WebSocketConnection;
  readonly #sessions: PtySessions;
  readonly #onData: PtyConnectOptions['onData'];
  #exitCode: number | undefined;
  #error: string | undefined;
  #connected = true;
  #established = false;
  #connectWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  #exitWaiters: Array<(result: PtyResult) => void> = [];

  /** @internal */
  constructor(ws: WebSocketConnection, sessionId: string, sessions: PtySessions, onData: PtyConnectOptions['onData']) {
    this.#ws = ws;
    this.sessionId = sessionId;
    this.#sessions = sessions;
    this.#onData = onData;
    ws.onmessage = (data, isText) => this.#message(data, isText);
    ws.onclose = (code, reason) => this.#closed(code, reason);
    ws.flush();
  }

  /** The shell's exit code once it has exited, else undefined. */
  get exitCode(): number | undefined {
    return this.#exitCode;
  }

  get error(): string | undefined {
    return this.#error;
  }

  isConnected(): boolean {
    return this.#connected && this.#ws.isOpen;
  }

  /** Wait for the terminal's `connected` message (createPty and connectPty do). */
  waitForConnection(timeoutMs = CONNECT_TIMEOUT_MS): Promise<void> {
    if (this.#established) return Promise.resolve();
    if (!this.#connected) return Promise.reject(new DaytonaConnectionError(this.#error ?? 'the terminal connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#connectWaiters = this.#connectWaiters.filter((w) => w !== entry);
        reject(new DaytonaTimeoutError(`PTY session ${this.sessionId} did not answer within ${timeoutMs / 1000}s`));
      }, timeoutMs);
      const entry = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#connectWaiters.push(entry);
    });
  }

  /** Type `data` into the terminal: keys, commands, a paste of any size, raw bytes such as `\x03`. */
  async sendInput(data: string | Uint8Array): Promise<void> {
    if (!this.isConnected()) throw new DaytonaConnectionError(`PTY session ${this.sessionId} is not connected`);
    const raw = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    for (let offset = 0; offset < raw.length; offset += INPUT_CHUNK) {
      await this.#ws.send(raw.subarray(offset, offset + INPUT_CHUNK));
    }
  }

  /** Change the terminal's size; its programs get SIGWINCH. */
  resize(cols: number, rows: number): Promise<PtySessionInfo> {
    return this.#sessions.resizePtySession(this.sessionId, cols, rows);
  }

  /** Kill the terminal's shell and everything started in it (exit code 137). */
  kill(): Promise<void> {
    return this.#sessions.killPtySession(this.sessionId);
  }

  /** Resolves when the shell has exited (or this connection ended: then `exitCode` is undefined). */
  wait(): Promise<PtyResult> {
    if (this.#exitCode !== undefined || !this.#connected) return Promise.resolve(this.#result());
    return new Promise((resolve) => this.#exitWaiters.push(resolve));
  }

  /** Close this connection; the terminal keeps running (connect again for its scrollback). */
  async disconnect(): Promise<void> {
    await this.#ws.close();
  }

  #result(): PtyResult {
    const result: PtyResult = {};
    if (this.#exitCode !== undefined) result.exitCode = this.#exitCode;
    if (this.#error !== undefined) result.error = this.#error;
    return result;
  }

  #message(data: Buffer, isText: boolean): void {
    if (isText) {
      const text = data.toString('utf8');
      let control: unknown;
      try {
        control = JSON.parse(text);
      } catch {
        control = undefined;
      }
      if (control && typeof control === 'object' && (control as { type?: unknown }).type === 'control') {
        this.#control(control as Record<string, unknown>);
        return;
      }
    }
    if (!this.#onData) return;
    try {
      const pending = this.#onData(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (pending && typeof (pending as Promise<void>).catch === 'function') (pending as Promise<void>).catch(() => undefined);
    } catch {
      // the caller's callback failed: its problem, the stream goes on
    }
  }

  #control(message: Record<string, unknown>): void {
    const status = message.status;
    if (status === 'connected' || status === 'exited') {
      this.#established = true;
      for (const waiter of this.#connectWaiters.splice(0)) waiter.resolve();
    }
    if (status === 'exited') {
      if (typeof message.exitCode === 'number') this.#exitCode = message.exitCode;
      if (typeof message.exitReason === 'string') this.#error = message.exitReason;
      this.#connected = false;
      for (const resolve of this.#exitWaiters.splice(0)) resolve(this.#result());
    } else if (status === 'error') {
      this.#error = typeof message.error === 'string' ? message.error : 'unknown terminal error';
      this.#connected = false;
      for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(new DaytonaConnectionError(this.#error));
    }
  }

  #closed(code: number, reason: string): void {
    this.#connected = false;
    let data: unknown;
    try {
      data = reason ? JSON.parse(reason) : undefined;
    } catch {
      data = undefined;
    }
    if (data && typeof data === 'object') {
      const exit = data as { exitCode?: unknown; exitReason?: unknown; error?: unknown };
      if (this.#exitCode === undefined && typeof exit.exitCode === 'number') {
        this.#exitCode = exit.exitCode;
        if (typeof exit.exitReason === 'string') this.#error = exit.exitReason;
      }
      if (typeof exit.error === 'string') this.#error = exit.error;
    } else if (code !== 1000 && this.#error === undefined) {
      this.#error = reason || `the connection closed (code ${code})`;
    }
    const error = new DaytonaConnectionError(this.#error ?? 'the terminal connection closed during setup');
    for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(error);
    for (const resolve of this.#exitWaiters.splice(0)) resolve(this.#result());
  }
}

function ptyPath(base: string, sessionId: string): string {
  if (typeof sessionId !== 'string' || !sessionId) throw new DaytonaError('a PTY session id is required');
  return `${base}/pty/${encodeURIComponent(sessionId)}`;
}

function envsProtocol(envs: Record<string, string>): string {
  return ENVS_PROTOCOL_PREFIX + Buffer.from(JSON.stringify(envs), 'utf8').toString('base64url');
}

/** The PTY calls of `workspace.process`. */
export class PtySessions {
  readonly #http: HttpClient;
  readonly #base: string;

  /** @internal */
  constructor(http: HttpClient, processBase: string) {
    this.#http = http;
    this.#base = processBase;
  }

  /**
   * Start a terminal (a login shell as the sandbox user, TERM=xterm-256color) and connect to it.
   * An id in use throws DaytonaConflictError.
   */
  async createPty(options: PtyCreateOptions & PtyConnectOptions): Promise<PtyHandle> {
    const query = { id: options.id, cols: options.cols ?? 80, rows: options.rows ?? 24, cwd: options.cwd || undefined };
    const protocols = [EXIT_CONTROL_PROTOCOL];
    if (options.envs && Object.keys(options.envs).length) protocols.push(envsProtocol(options.envs));
    return this.#open(options.id, `${this.#base}/pty/create-connect`, query, protocols, options.onData);
  }

  /** Attach to a running terminal: its scrollback first, then live output. */
  async connectPty(sessionId: string, options: PtyConnectOptions = {}): Promise<PtyHandle> {
    return this.#open(sessionId, `${ptyPath(this.#base, sessionId)}/connect`, {}, [EXIT_CONTROL_PROTOCOL], options.onData);
  }

  async listPtySessions(): Promise<PtySessionInfo[]> {
    const data = await this.#http.request<{ sessions?: PtySessionInfo[] }>('GET', `${this.#base}/pty`);
    return data?.sessions ?? [];
  }

  async getPtySessionInfo(sessionId: string): Promise<PtySessionInfo> {
    return this.#http.request<PtySessionInfo>('GET', ptyPath(this.#base, sessionId));
  }

  /** Kill the terminal's shell and every process started in it, and forget the terminal. */
  async killPtySession(sessionId: string): Promise<void> {
    await this.#http.request('DELETE', ptyPath(this.#base, sessionId));
  }

  async resizePtySession(sessionId: string, cols: number, rows: number): Promise<PtySessionInfo> {
    return this.#http.request<PtySessionInfo>('POST', `${ptyPath(this.#base, sessionId)}/resize`, { json: { cols, rows } });
  }

  async #open(
    sessionId: string,
    path: string,
    query: Record<string, string | number | undefined>,
    protocols: string[],
    onData: PtyConnectOptions['onData'],
  ): Promise<PtyHandle> {
    const { url, headers } = this.#http.websocketTarget(path, query);
    const ws = await connectWebSocket(url, { headers, protocols });
    const handle = new PtyHandle(ws, sessionId, this, onData);
    try {
      await handle.waitForConnection();
    } catch (error) {
      await handle.disconnect();
      throw error;
    }
    return handle;
  }
}
