/**
 * A small WebSocket client (RFC 6455) over `node:http`'s upgrade, so the SDK needs no dependency:
 * Node 20 has no WebSocket client built in. Client frames are masked, incoming messages bounded,
 * fragments joined, pings answered, and the close handshake done both ways. A refused upgrade
 * throws the SDK error of its HTTP answer (404, 409, ...).
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';

import { DaytonaConnectionError, DaytonaTimeoutError } from './errors.js';
import { errorFromText, translateFetchError } from './http.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const TEXT = 0x1;
const BINARY = 0x2;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;
const CONTINUATION = 0x0;
/** The proxy and the agent take messages of at most 4 MiB. */
export const MAX_MESSAGE = 4 * 1024 * 1024;
/** After our close frame, the peer's answer is awaited this long before the socket is cut. */
const CLOSE_WAIT_MS = 5000;

export interface WebSocketOptions {
  headers?: Record<string, string>;
  /** Subprotocols to offer; the one the server selected is `protocol`. */
  protocols?: string[];
  /** Milliseconds for the upgrade to be answered. Default 30 s. */
  timeoutMs?: number;
  maxMessage?: number;
}

/** One open WebSocket. Set `onmessage` / `onclose` right after connecting (queued messages wait for it). */
export class WebSocketConnection {
  /** The subprotocol the server selected. */
  readonly protocol: string | undefined;
  closeCode: number | undefined;
  closeReason = '';
  onmessage: ((data: Buffer, isText: boolean) => void) | undefined;
  onclose: ((code: number, reason: string) => void) | undefined;
  readonly #socket: Duplex;
  readonly #maxMessage: number;
  #buffer: Buffer = Buffer.alloc(0);
  #fragments: Buffer[] = [];
  #fragmentOpcode = 0;
  #fragmentSize = 0;
  #closeSent = false;
  #ended = false;
  #pending: Array<[Buffer, boolean]> = [];
  readonly #closedPromise: Promise<void>;

  /** @internal */
  constructor(socket: Duplex, head: Buffer, protocol: string | undefined, maxMessage: number) {
    this.#socket = socket;
    this.protocol = protocol;
    this.#maxMessage = maxMessage;
    this.#closedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.#ended = true;
        if (this.closeCode === undefined) {
          this.closeCode = 1006;
          this.closeReason = this.closeReason || 'the connection was lost';
        }
        this.onclose?.(this.closeCode, this.closeReason);
        resolve();
      });
    });
    socket.on('error', () => undefined); // a 'close' follows
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    if (head.length) queueMicrotask(() => this.#receive(head));
  }

  get isOpen(): boolean {
    return !this.#ended && !this.#closeSent && this.closeCode === undefined;
  }

  /** Send a text (string) or binary message; resolves once the socket took it. */
  async send(data: string | Uint8Array): Promise<void> {
    if (!this.isOpen) throw new DaytonaConnectionError('the WebSocket is closed');
    const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    await this.#write(typeof data === 'string' ? TEXT : BINARY, payload);
  }

  /** Start the close handshake (once); resolves when the connection has ended. */
  async close(code = 1000, reason = ''): Promise<void> {
    if (!this.#closeSent && !this.#ended) {
      this.#closeSent = true;
      const text = Buffer.from(reason, 'utf8').subarray(0, 123);
      const payload = Buffer.alloc(2 + text.length);
      payload.writeUInt16BE(code, 0);
      text.copy(payload, 2);
      this.#write(CLOSE, payload).catch(() => undefined);
      const timer = setTimeout(() => this.#socket.destroy(), CLOSE_WAIT_MS);
      timer.unref();
      this.#closedPromise.finally(() => clearTimeout(timer)).catch(() => undefined);
    }
    await this.#closedPromise;
  }

  #write(opcode: number, payload: Buffer): Promise<void> {
    const length = payload.length;
    let head: Buffer;
    if (length < 126) {
      head = Buffer.from([0x80 | opcode, 0x80 | length]);
    } else if (length < 65536) {
      head = Buffer.alloc(4);
      head[0] = 0x80 | opcode;
      head[1] = 0x80 | 126;
      head.writeUInt16BE(length, 2);
    } else {
      head = Buffer.alloc(10);
      head[0] = 0x80 | opcode;
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(length), 2);
    }
    const mask = randomBytes(4);
    const masked = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
    return new Promise((resolve, reject) => {
      this.#socket.write(Buffer.concat([head, mask, masked]), (error) => (error ? reject(error) : resolve()));
    });
  }

  #receive(chunk: Buffer): void {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    for (;;) {
      const buf = this.#buffer;
      if (buf.length < 2) return;
      const fin = (buf[0]! & 0x80) !== 0;
      const opcode = buf[0]! & 0x0f;
      const masked = (buf[1]! & 0x80) !== 0;
      let length = buf[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buf.length < 4) return;
        length = buf.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buf.length < 10) return;
        const big = buf.readBigUInt64BE(2);
        length = big > BigInt(this.#maxMessage) ? this.#maxMessage + 1 : Number(big);
        offset = 10;
      }
      if (length > this.#maxMessage) return this.#fail(1009, `a message over ${this.#maxMessage} bytes`);
      const maskOffset = offset;
      if (masked) offset += 4;
      if (buf.length < offset + length) return;
      let payload = buf.subarray(offset, offset + length);
      if (masked) {
        const mask = buf.subarray(maskOffset, maskOffset + 4);
        payload = Buffer.from(payload);
        for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i & 3]!;
      }
      this.#buffer = buf.subarray(offset + length);
      this.#frame(fin, opcode, payload);
    }
  }

  #frame(fin: boolean, opcode: number, payload: Buffer): void {
    if (opcode === PING) {
      if (!this.#closeSent) this.#write(PONG, Buffer.from(payload)).catch(() => undefined);
      return;
    }
    if (opcode === PONG) return;
    if (opcode === CLOSE) {
      this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      this.closeReason = payload.subarray(2).toString('utf8');
      if (!this.#closeSent) {
        this.#closeSent = true;
        const echo = Buffer.alloc(2);
        echo.writeUInt16BE(this.closeCode === 1005 ? 1000 : this.closeCode, 0);
        this.#write(CLOSE, echo).catch(() => undefined);
      }
      this.#socket.end();
      return;
    }
    if (opcode === TEXT || opcode === BINARY) {
      this.#fragmentOpcode = opcode;
      this.#fragments = [];
      this.#fragmentSize = 0;
    } else if (opcode !== CONTINUATION || !this.#fragmentOpcode) {
      return this.#fail(1002, `unexpected opcode ${opcode}`);
    }
    this.#fragments.push(Buffer.from(payload));
    this.#fragmentSize += payload.length;
    if (this.#fragmentSize > this.#maxMessage) return this.#fail(1009, `a message over ${this.#maxMessage} bytes`);
    if (!fin) return;
    const data = this.#fragments.length === 1 ? this.#fragments[0]! : Buffer.concat(this.#fragments);
    const isText = this.#fragmentOpcode === TEXT;
    this.#fragments = [];
    this.#fragmentOpcode = 0;
    this.#fragmentSize = 0;
    this.#deliver(data, isText);
  }

  #deliver(data: Buffer, isText: boolean): void {
    if (this.onmessage) {
      for (const [queued, queuedText] of this.#pending.splice(0)) this.onmessage(queued, queuedText);
      this.onmessage(data, isText);
    } else {
      this.#pending.push([data, isText]);
    }
  }

  /** Hand over what arrived before `onmessage` was set. */
  flush(): void {
    if (!this.onmessage) return;
    for (const [queued, queuedText] of this.#pending.splice(0)) this.onmessage(queued, queuedText);
  }

  #fail(code: number, reason: string): void {
    this.#buffer = Buffer.alloc(0);
    this.close(code, reason).catch(() => undefined);
  }
}

/** Open a WebSocket to `url` (ws:// or wss://). */
export function connectWebSocket(url: string, options: WebSocketOptions = {}): Promise<WebSocketConnection> {
  const target = new URL(url);
  const secure = target.protocol === 'wss:' || target.protocol === 'https:';
  const key = randomBytes(16).toString('base64');
  const protocols = options.protocols ?? [];
  const headers: Record<string, string> = {
    ...options.headers,
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Key': key,
    'Sec-WebSocket-Version': '13',
  };
  if (protocols.length) headers['Sec-WebSocket-Protocol'] = protocols.join(', ');
  const expected = createHash('sha1').update(key + GUID).digest('base64');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const shown = `${target.origin.replace(/^http/, 'ws')}${target.pathname}`;
  return new Promise((resolve, reject) => {
    const send = secure ? httpsRequest : httpRequest;
    const req = send({
      protocol: secure ? 'https:' : 'http:',
      hostname: target.hostname.replace(/^\[|\]$/g, ''),
      port: target.port || (secure ? 443 : 80),
      path: `${target.pathname}${target.search}`,
      method: 'GET',
      headers,
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new DaytonaTimeoutError(`the WebSocket upgrade to ${shown} was not answered within ${timeoutMs / 1000}s`));
    }, timeoutMs);
    req.on('upgrade', (res: IncomingMessage, socket: Duplex, head: Buffer) => {
      clearTimeout(timer);
      const protocol = res.headers['sec-websocket-protocol'];
      if (res.headers['sec-websocket-accept'] !== expected) {
        socket.destroy();
        reject(new DaytonaConnectionError(`${shown} answered the upgrade with a wrong Sec-WebSocket-Accept`));
        return;
      }
      if (protocol !== undefined && !protocols.includes(protocol)) {
        socket.destroy();
        reject(new DaytonaConnectionError(`${shown} selected a subprotocol that was not offered: ${protocol}`));
        return;
      }
      (socket as Duplex & { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      resolve(new WebSocketConnection(socket, head, protocol, options.maxMessage ?? MAX_MESSAGE));
    });
    req.on('response', (res: IncomingMessage) => {
      // No upgrade: the server refused with an HTTP answer (unknown PTY, a second client, ...).
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        clearTimeout(timer);
        reject(errorFromText(res.statusCode ?? 0, res.statusMessage ?? '', Buffer.concat(chunks).toString('utf8')));
      });
      res.on('error', (error) => {
        clearTimeout(timer);
        reject(translateFetchError(error, shown));
      });
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(translateFetchError(error, shown));
    });
    req.end();
  });
}
