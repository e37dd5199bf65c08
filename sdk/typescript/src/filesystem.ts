/**
 * `workspace.fs`: files and directories in a sandbox, as its user.
 *
 * Uploads and downloads are streamed: `uploadFile` sends a `File`/`Blob` (e.g. a local file from
 * `fs.openAsBlob`), bytes, text or a stream chunk by chunk, never holding a large file in memory;
 * `downloadFile` returns a Buffer, or writes to a local path chunk by chunk.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';

import { DaytonaError } from './errors.js';
import { HttpClient } from './http.js';
import { FileInfo, FilePermissionsParams, Match, ReplaceResult, SearchFilesResponse } from './models.js';

/**
 * What `uploadFile` takes: a `File` or `Blob` (streamed; `await fs.openAsBlob(localPath)` for a
 * local file), a Buffer / Uint8Array / ArrayBuffer, a string (uploaded as UTF-8 text), or a web
 * `ReadableStream` / Node `Readable` of bytes.
 */
export type UploadSource = Blob | Uint8Array | ArrayBuffer | string | ReadableStream<Uint8Array> | Readable;

/** Options of `uploadFile`. */
export interface UploadOptions {
  /** Seconds to wait for the server's answer after the body was sent (0 = forever). Default 60. */
  timeout?: number;
  /** Size in bytes of a stream source: sent as Content-Length (otherwise the body goes chunked). */
  size?: number;
}

/** Options of `downloadFile`. */
export interface DownloadOptions {
  /** Seconds to wait for the answer, and then for each chunk of data (0 = forever). Default 60. */
  timeout?: number;
}

function modeText(mode: string | number): string {
  return typeof mode === 'number' ? mode.toString(8) : String(mode);
}

function checkPath(path: unknown, name = 'path'): string {
  if (typeof path !== 'string' || !path) throw new DaytonaError(`${name} must be a non-empty string`);
  return path;
}

type Part = Uint8Array | Blob | ReadableStream<Uint8Array>;

/** Bytes of `parts` one after another, read only as fast as they are sent. */
function concatStream(parts: Part[]): ReadableStream<Uint8Array> {
  let index = 0;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller): Promise<void> {
      for (;;) {
        if (reader) {
          const { done, value } = await reader.read();
          if (!done) {
            if (value.byteLength) {
              controller.enqueue(value);
              return;
            }
            continue;
          }
          reader.releaseLock();
          reader = undefined;
        }
        const part = parts[index++];
        if (part === undefined) {
          controller.close();
          return;
        }
        if (part instanceof Uint8Array) {
          if (part.byteLength) {
            controller.enqueue(part);
            return;
          }
          continue;
        }
        reader = (part instanceof Blob ? part.stream() : part).getReader();
      }
    },
    async cancel(reason): Promise<void> {
      await reader?.cancel(reason);
    },
  });
}

/**
 * `stream` as bytes (string chunks as UTF-8), checked to hold exactly `size` bytes when given: a
 * stream that gives more or fewer, or other things than bytes, fails before the surplus is sent,
 * so the server sees an incomplete upload and keeps the old file.
 */
function exactly(stream: ReadableStream<unknown>, size: number | undefined): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  const encoder = new TextEncoder();
  let seen = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller): Promise<void> {
      const { done, value: chunk } = await reader.read();
      if (done) {
        if (size !== undefined && seen !== size) controller.error(new DaytonaError(`the upload stream gave ${seen} bytes, not the size given (${size})`));
        else controller.close();
        return;
      }
      const value = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
      if (!(value instanceof Uint8Array)) {
        await reader.cancel().catch(() => undefined);
        controller.error(new DaytonaError('uploadFile needs a stream of bytes (Buffer, Uint8Array or string chunks)'));
        return;
      }
      seen += value.byteLength;
      if (size !== undefined && seen > size) {
        await reader.cancel().catch(() => undefined);
        controller.error(new DaytonaError(`the upload stream gave more than the size given (${size} bytes)`));
        return;
      }
      controller.enqueue(value);
    },
    async cancel(reason): Promise<void> {
      await reader.cancel(reason);
    },
  });
}

/** The file part of a multipart upload: its content and size (undefined when unknown). */
function uploadPart(file: UploadSource, size?: number): { part: Part; size: number | undefined } {
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
    throw new DaytonaError('size must be a non-negative integer number of bytes');
  }
  if (file instanceof ReadableStream) return { part: exactly(file, size), size };
  if (file instanceof Readable) return { part: exactly(Readable.toWeb(file) as ReadableStream<unknown>, size), size };
  let part: Uint8Array | Blob;
  if (typeof file === 'string') part = new TextEncoder().encode(file);
  else if (file instanceof Uint8Array || file instanceof Blob) part = file;
  else if (file instanceof ArrayBuffer) part = new Uint8Array(file);
  else {
    throw new DaytonaError(
      'uploadFile takes a File/Blob (fs.openAsBlob for a local file), a Buffer/Uint8Array/ArrayBuffer, a string or a stream of bytes',
    );
  }
  const known = part instanceof Blob ? part.size : part.byteLength;
  if (size !== undefined && size !== known) throw new DaytonaError(`size is ${size} but the content has ${known} bytes`);
  return { part, size: known };
}

/** File operations in one sandbox. Paths are absolute, or relative to the user's home directory. */
export class FileSystem {
  readonly #http: HttpClient;
  readonly #base: string;

  /** @internal */
  constructor(http: HttpClient, workspaceId: string) {
    this.#http = http;
    this.#base = `/toolbox/${encodeURIComponent(workspaceId)}/toolbox/files`;
  }

  /** Create a directory (and missing parents) with `mode`, e.g. "755"; an existing directory is kept. */
  async createFolder(path: string, mode: string | number = '755'): Promise<void> {
    await this.#http.request('POST', `${this.#base}/folder`, { query: { path: checkPath(path), mode: modeText(mode) } });
  }

  /** Delete a file; a directory only with `recursive` (then with everything in it). */
  async deleteFile(path: string, recursive = false): Promise<void> {
    await this.#http.request('DELETE', this.#base, { query: { path: checkPath(path), recursive: recursive ? 'true' : undefined } });
  }

  /**
   * The file's bytes as a Buffer; or, given `localPath`, stream them into that local file (written
   * through a temporary file renamed at the end, so an interrupted download leaves nothing half-written).
   */
  async downloadFile(path: string, options?: DownloadOptions): Promise<Buffer>;
  async downloadFile(path: string, localPath: string, options?: DownloadOptions): Promise<void>;
  async downloadFile(
    path: string,
    localPathOrOptions?: string | DownloadOptions,
    maybeOptions?: DownloadOptions,
  ): Promise<Buffer | void> {
    const localPath = typeof localPathOrOptions === 'string' ? localPathOrOptions : undefined;
    const options = (typeof localPathOrOptions === 'object' ? localPathOrOptions : maybeOptions) ?? {};
    const chunks = this.downloadFileStream(path, options);
    if (localPath === undefined) {
      const parts: Uint8Array[] = [];
      for await (const chunk of chunks) parts.push(chunk);
      return Buffer.concat(parts);
    }
    const target = resolve(localPath);
    const tmp = join(dirname(target), `.${basename(target)}.download-${randomBytes(4).toString('hex')}`);
    const handle = await open(tmp, 'wx', 0o644);
    try {
      try {
        for await (const chunk of chunks) await handle.write(chunk);
      } finally {
        await handle.close();
      }
      await rename(tmp, target);
    } catch (error) {
      await unlink(tmp).catch(() => undefined);
      throw error;
    }
  }

  /** The file's bytes chunk by chunk, as they arrive (each wait bounded by `timeout`). */
  async *downloadFileStream(path: string, options: DownloadOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
    const streamed = await this.#http.stream('GET', `${this.#base}/download`, {
      query: { path: checkPath(path) },
      timeout: options.timeout,
    });
    yield* streamed.chunks();
  }

  /**
   * Lines containing `pattern` (plain text) in the files under `path`, like `grep -rn`.
   * Takes `(path, pattern)` or `({ path, pattern })`, as the documentation shows.
   */
  async findFiles(path: string | { path: string; pattern: string }, pattern?: string): Promise<Match[]> {
    const args = typeof path === 'object' && path !== null ? path : { path, pattern };
    const query = { path: checkPath(args.path), pattern: checkPath(args.pattern, 'pattern') };
    return this.#http.request<Match[]>('GET', `${this.#base}/find`, { query, timeout: null });
  }

  /** Size, mode, owner, modification time, ... of a file or directory. */
  async getFileDetails(path: string): Promise<FileInfo> {
    return this.#http.request<FileInfo>('GET', `${this.#base}/info`, { query: { path: checkPath(path) } });
  }

  /** The same as `getFileDetails` (the Python SDK's name). */
  async getFileInfo(path: string): Promise<FileInfo> {
    return this.getFileDetails(path);
  }

  /** The entries of a directory, sorted by name. */
  async listFiles(path: string): Promise<FileInfo[]> {
    return this.#http.request<FileInfo[]>('GET', this.#base, { query: { path: checkPath(path) } });
  }

  /** Move or rename a file or directory; the destination must not exist, its parent must. */
  async moveFiles(source: string, destination: string): Promise<void> {
    const query = { source: checkPath(source, 'source'), destination: checkPath(destination, 'destination') };
    await this.#http.request('POST', `${this.#base}/move`, { query });
  }

  /** Replace every occurrence of `pattern` (plain text) with `newValue` in each file; one result per file. */
  async replaceInFiles(files: string[], pattern: string, newValue: string): Promise<ReplaceResult[]> {
    if (!Array.isArray(files)) throw new DaytonaError('files must be a list of paths');
    return this.#http.request<ReplaceResult[]>('POST', `${this.#base}/replace`, {
      json: { files, pattern, newValue },
      timeout: null,
    });
  }

  /** Files and directories under `path` whose name matches the glob `pattern` (e.g. "*.ts"). */
  async searchFiles(path: string, pattern: string): Promise<SearchFilesResponse> {
    const query = { path: checkPath(path), pattern: checkPath(pattern, 'pattern') };
    const data = await this.#http.request<SearchFilesResponse>('GET', `${this.#base}/search`, { query, timeout: null });
    return { files: [...(data.files ?? [])] };
  }

  /** Change mode (e.g. "755"), owner and/or group; what is left out stays as it is. */
  async setFilePermissions(path: string, permissions: FilePermissionsParams): Promise<void> {
    const { mode, owner, group } = permissions ?? {};
    const query = { path: checkPath(path), mode: mode === undefined ? undefined : modeText(mode), owner, group };
    await this.#http.request('POST', `${this.#base}/permissions`, { query });
  }

  /**
   * Write `file` to `path` in the sandbox, replacing what is there; the parent directory must exist.
   * The body is streamed (multipart, with Content-Length when the size is known); the sandbox sees
   * the new content all at once, never half of it. Sent once: a failed upload is not retried.
   */
  async uploadFile(path: string, file: UploadSource, options: UploadOptions = {}): Promise<void> {
    checkPath(path);
    const { part, size } = uploadPart(file, options.size);
    const boundary = `----daytona-${randomBytes(12).toString('hex')}`;
    const name = (basename(path) || 'file').replace(/["\r\n\\]/g, '_');
    const encoder = new TextEncoder();
    const head = encoder.encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    );
    const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
    const headers: Record<string, string> = { 'Content-Type': `multipart/form-data; boundary=${boundary}` };
    if (size !== undefined) headers['Content-Length'] = String(head.byteLength + size + tail.byteLength);
    await this.#http.upload('POST', `${this.#base}/upload`, {
      query: { path },
      body: concatStream([head, part, tail]),
      headers,
      timeout: options.timeout,
    });
  }
}
