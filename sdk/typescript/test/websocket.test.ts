// The SDK's own WebSocket client (src/websocket.ts) against a tiny RFC 6455 server made here:
// pings, fragmented and large messages, masking, close codes, and a refused upgrade.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';

import { DaytonaConflictError } from '@daytonaio/sdk';

import type { connectWebSocket as ConnectWebSocket } from '../dist/esm/websocket.js';

// Not public API: loaded from the build (build/test -> dist/esm).
const { connectWebSocket } = (await import(new URL('../../dist/esm/websocket.js', import.meta.url).href)) as {
  connectWebSocket: typeof ConnectWebSocket;
};

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
let server: Server;
let base: string;

function frame(opcode: number, payload: Buffer, fin = true): Buffer {
  const head =
    payload.length < 126
      ? Buffer.from([(fin ? 0x80 : 0) | opcode, payload.length])
      : Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, 127]), Buffer.alloc(8)]);
  if (payload.length >= 126) head.writeBigUInt64BE(BigInt(payload.length), 2);
  return Buffer.concat([head, payload]);
}

/** Read one masked client frame from `socket` (enough for these tests: no fragmentation from the client). */
function readFrame(socket: Duplex): Promise<{ opcode: number; payload: Buffer }> {
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length < 2) return;
      let length = buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) [length, offset] = [buffer.readUInt16BE(2), 4];
      else if (length === 127) [length, offset] = [Number(buffer.readBigUInt64BE(2)), 10];
      if (buffer.length < offset + 4 + length) return;
      const mask = buffer.subarray(offset, offset + 4);
      const payload = Buffer.from(buffer.subarray(offset + 4, offset + 4 + length));
      for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i & 3]!;
      socket.off('data', onData);
      resolve({ opcode: buffer[0]! & 0x0f, payload });
    };
    socket.on('data', onData);
  });
}

before(async () => {
  server = createServer((_req, res) => {
    res.writeHead(409, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ statusCode: 409, message: 'already has a client' }));
  });
  server.on('upgrade', async (req: IncomingMessage, socket: Duplex) => {
    if (req.url?.startsWith('/refuse')) {
      socket.end('HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: 47\r\n\r\n' +
        '{"statusCode":409,"message":"already has one"}\n');
      return;
    }
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}${GUID}`).digest('base64');
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: second\r\n\r\n`,
    );
    // A ping first (the client answers with a pong), then a fragmented text and a large binary message.
    socket.write(frame(0x9, Buffer.from('hey')));
    const pong = await readFrame(socket);
    socket.write(frame(0x1, Buffer.from(`pong:${pong.opcode}:${pong.payload}`)));
    socket.write(Buffer.concat([frame(0x1, Buffer.from('frag'), false), frame(0x0, Buffer.from('mented'))]));
    socket.write(frame(0x2, Buffer.alloc(70_000, 7)));
    const echo = await readFrame(socket);
    socket.write(frame(0x2, echo.payload));
    const closing = Buffer.alloc(2 + 4);
    closing.writeUInt16BE(4001, 0);
    closing.write('done', 2);
    socket.write(frame(0x8, closing));
    await readFrame(socket); // the client's close answer
    socket.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => server.close());

describe('websocket client', () => {
  test('pings, fragments, large and masked messages, the close code', async () => {
    const ws = await connectWebSocket(`${base}/ok`, { protocols: ['first', 'second'] });
    assert.equal(ws.protocol, 'second');
    const received: Array<[string, boolean]> = [];
    const closed = new Promise<[number, string]>((resolve) => (ws.onclose = (code, reason) => resolve([code, reason])));
    ws.onmessage = (data, isText) => {
      received.push([isText ? data.toString('utf8') : `binary:${data.length}:${data[0]}`, isText]);
      if (received.length === 3) ws.send(new Uint8Array(200_000).fill(9)).catch(() => undefined);
    };
    ws.flush();
    assert.deepEqual(await closed, [4001, 'done']);
    assert.deepEqual(received, [
      ['pong:10:hey', true],
      ['fragmented', true],
      ['binary:70000:7', false],
      ['binary:200000:9', false],
    ]);
  });

  test('a refused upgrade throws the error of its status', async () => {
    await assert.rejects(connectWebSocket(`${base}/refuse`), DaytonaConflictError);
  });
});
