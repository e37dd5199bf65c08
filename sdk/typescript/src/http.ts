/**
 * The one place that talks HTTP (Node's global `fetch`): auth header, timeouts, bounded retries
 * with backoff, and the mapping of answers and failures onto the SDK's error tree.
 * @module
 */
import { request as httpRequest, IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';

import {
  DaytonaConnectionError,
  DaytonaError,
  DaytonaTimeoutError,
  errorForStatus,
} from './errors.js';

export const USER_AGENT = 'daytona-sdk-typescript/0.1.0';
export const MAX_RETRIES = 3;
const RETRY_STATUSES = new Set([502, 503, 504]);
// Only these are repeated after a failure in flight; any request is repeated when it never left.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
// Failures of the connection itself: the request was never sent.
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);
// Failures after the request may have reached the server.
const IN_FLIGHT_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/** Query parameters; undefined and null values are left out. */
export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  /** Sent as JSON. */
  json?: unknown;
  query?: Query;
  /**
   * Seconds to wait for the whole answer; `null` or 0 waits as long as it takes. Default 60.
   */
  timeout?: number | null;
}

export interface StreamOptions {
  query?: Query;
  /** A raw body (not a stream: `upload` sends those) and its headers. */
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  /** Seconds to wait for the answer's headers, and then for each chunk of its body (0/null: forever). */
  timeout?: number | null;
}

/** A response whose body is read chunk by chunk, each wait bounded by the idle timeout. */
export interface StreamedResponse {
  response: Response;
  /** The body's chunks; throws DaytonaTimeoutError when no data arrives within the timeout. */
  chunks(): AsyncGenerator<Uint8Array, void, undefined>;
  /** Stop reading and release the connection. */
  cancel(): Promise<void>;
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

/** Whether to send the request again after `error` (a fetch failure) or `status` (an answer). */
export function shouldRetry(method: string, attempt: number, error: unknown, status?: number): boolean {
  if (attempt >= MAX_RETRIES) return false;
  if (error !== undefined) {
    const code = errorCode(error);
    if (code !== undefined && CONNECT_ERRORS.has(code)) return true;
    return code !== undefined && IN_FLIGHT_ERRORS.has(code) && IDEMPOTENT.has(method);
  }
  return status !== undefined && RETRY_STATUSES.has(status) && IDEMPOTENT.has(method);
}

/** Exponential backoff with jitter, in milliseconds; honours a Retry-After given in seconds. */
export function backoffMs(attempt: number, retryAfter?: string | null): number {
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 30) * 1000;
  }
  return Math.min(250 * 2 ** attempt, 4000) * (0.5 + Math.random() / 2);
}

/** The SDK error for a failed fetch (no answer from the server). */
export function translateFetchError(error: unknown, url: string, timeout?: number | null): DaytonaError {
  if (error instanceof DaytonaError) return error;
  // A failure of our own (e.g. of a request body stream) wrapped by fetch.
  if (error instanceof Error && error.cause instanceof DaytonaError) return error.cause;
  if (isTimeout(error)) {
    const limit = timeout ? ` within ${timeout}s` : '';
    return new DaytonaTimeoutError(`request to ${url} did not finish${limit}`, undefined, { cause: error });
  }
  const code = errorCode(error);
  const detail = code ?? (error instanceof Error ? (error.cause as Error | undefined)?.message ?? error.message : String(error));
  return new DaytonaConnectionError(
    `cannot reach the Daytona server at ${url}: ${detail}; is it running (\`daytona server\`) and is` +
      ' DAYTONA_SERVER_URL right?',
    undefined,
    { cause: error },
  );
}

/** Turn an error answer into the SDK error of its status, with the server's message. */
export async function errorFromResponse(response: Response): Promise<DaytonaError> {
  const text = await response.text().catch(() => '');
  return errorFromText(response.status, response.statusText, text);
}

/** The SDK error of an answer with this status and body text. */
export function errorFromText(status: number, statusText: string, text: string): DaytonaError {
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : text;
  } catch {
    // not JSON: keep the text
  }
  let message: unknown = typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : undefined;
  if (message !== undefined && typeof message !== 'string') message = JSON.stringify(message);
  if (!message) message = (typeof body === 'string' && body) || statusText || `HTTP ${status}`;
  return errorForStatus(status, message as string, body);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Seconds as the documented convention has them: 0, null or undefined mean "no limit". */
export function timeoutSeconds(timeout: number | null | undefined, what = 'timeout'): number | null {
  if (timeout === undefined || timeout === null) return null;
  if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0) {
    throw new DaytonaError(`${what} must be a non-negative number of seconds (0 = no timeout)`);
  }
  return timeout === 0 || timeout === Infinity ? null : timeout;
}

export class HttpClient {
  readonly serverUrl: string;
  readonly #headers: Record<string, string>;

  constructor(apiKey: string, serverUrl: string) {
    this.serverUrl = serverUrl;
    this.#headers = { Authorization: `Bearer ${apiKey}`, 'User-Agent': USER_AGENT };
  }

  url(path: string, query?: Query): string {
    const url = new URL(this.serverUrl + path);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    return url.toString();
  }

  /** The ws:// (or wss://) URL of `path` and the headers that authenticate a WebSocket upgrade to it. */
  websocketTarget(path: string, query?: Query): { url: string; headers: Record<string, string> } {
    return { url: this.url(path, query).replace(/^http/, 'ws'), headers: { ...this.#headers } };
  }

  /** Send a request; return the decoded JSON body (undefined when empty) or throw a DaytonaError. */
  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = this.url(path, options.query);
    const timeout = options.timeout === undefined ? 60 : timeoutSeconds(options.timeout);
    const headers: Record<string, string> = { ...this.#headers, Accept: 'application/json' };
    let body: string | undefined;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['Content-Type'] = 'application/json';
    }
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      let text: string;
      try {
        const init: RequestInit = { method, headers, body };
        if (timeout) init.signal = AbortSignal.timeout(timeout * 1000);
        response = await fetch(url, init);
        if (shouldRetry(method, attempt, undefined, response.status)) {
          await response.body?.cancel().catch(() => undefined);
          await sleep(backoffMs(attempt, response.headers.get('retry-after')));
          continue;
        }
        if (!response.ok) throw await errorFromResponse(response);
        text = await response.text();
      } catch (error) {
        if (!(error instanceof DaytonaError) && shouldRetry(method, attempt, error)) {
          await sleep(backoffMs(attempt));
          continue;
        }
        throw translateFetchError(error, url, timeout);
      }
      if (!text) return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch {
        return text as T;
      }
    }
  }

  /**
   * Send a request once and return the answer with its body unread, to read chunk by chunk.
   * Error answers throw. The timeout bounds the wait for the headers and then each wait for data.
   */
  async stream(method: string, path: string, options: StreamOptions = {}): Promise<StreamedResponse> {
    const url = this.url(path, options.query);
    const timeout = options.timeout === undefined ? 60 : timeoutSeconds(options.timeout);
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const arm = (): void => {
      if (timer) clearTimeout(timer);
      if (timeout) {
        timer = setTimeout(() => {
          timedOut = true;
          controller.abort(new DOMException('timed out', 'TimeoutError'));
        }, timeout * 1000);
      }
    };
    const disarm = (): void => {
      if (timer) clearTimeout(timer);
      timer = undefined;
    };
    const init: RequestInit = {
      method,
      headers: { ...this.#headers, ...options.headers },
      signal: controller.signal,
    };
    if (options.body !== undefined) init.body = options.body;
    arm();
    let response: Response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      disarm();
      throw translateFetchError(timedOut ? new DOMException('timed out', 'TimeoutError') : error, url, timeout);
    }
    if (!response.ok) {
      try {
        throw await errorFromResponse(response);
      } finally {
        disarm();
      }
    }
    disarm();
    const body = response.body;
    return {
      response,
      async *chunks(): AsyncGenerator<Uint8Array, void, undefined> {
        if (!body) return;
        const reader = body.getReader();
        try {
          for (;;) {
            arm();
            let result: Awaited<ReturnType<typeof reader.read>>;
            try {
              result = await reader.read();
            } catch (error) {
              throw translateFetchError(timedOut ? new DOMException('timed out', 'TimeoutError') : error, url, timeout);
            } finally {
              disarm();
            }
            if (result.done) return;
            yield result.value;
          }
        } finally {
          disarm();
          await reader.cancel().catch(() => undefined);
          reader.releaseLock();
        }
      },
      async cancel(): Promise<void> {
        disarm();
        if (body && !body.locked) await body.cancel().catch(() => undefined);
      },
    };
  }

  /**
   * Send `body` once, streamed with backpressure through `node:http` (fetch keeps a streamed
   * request body in memory: nodejs/undici#4058), and return the answer's JSON; errors throw.
   * The timeout bounds each wait (for the socket to take data, and for the answer), not the whole upload.
   */
  async upload<T = unknown>(
    method: string,
    path: string,
    options: { query?: Query; body: ReadableStream<Uint8Array>; headers: Record<string, string>; timeout?: number | null },
  ): Promise<T> {
    const url = new URL(this.url(path, options.query));
    const timeout = options.timeout === undefined ? 60 : timeoutSeconds(options.timeout);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const source = Readable.fromWeb(options.body as import('node:stream/web').ReadableStream<Uint8Array>);
    const text = await new Promise<{ status: number; statusText: string; text: string }>((resolve, reject) => {
      let answered = false;
      const req = send(url, { method, headers: { ...this.#headers, ...options.headers } });
      const fail = (error: unknown): void => {
        source.destroy();
        if (!answered) reject(translateFetchError(error, url.toString(), timeout));
      };
      if (timeout) {
        req.setTimeout(timeout * 1000, () => req.destroy(new DOMException('timed out', 'TimeoutError')));
      }
      req.on('error', fail);
      req.on('response', (res: IncomingMessage) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => reject(translateFetchError(error, url.toString(), timeout)));
        res.on('end', () => {
          // An early answer (an error before the whole body was read): stop sending the rest.
          if (!req.writableFinished) {
            source.destroy();
            req.destroy();
          }
          resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', text: Buffer.concat(chunks).toString('utf8') });
        });
      });
      source.on('error', (error) => req.destroy(error));
      source.pipe(req);
    });
    if (text.status < 200 || text.status >= 300) throw errorFromText(text.status, text.statusText, text.text);
    if (!text.text) return undefined as T;
    try {
      return JSON.parse(text.text) as T;
    } catch {
      return text.text as T;
    }
  }
}
