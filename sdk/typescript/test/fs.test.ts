// The documentation's file system examples, against a real server, plus streamed large files.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, openAsBlob, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  Daytona,
  DaytonaBadRequestError,
  DaytonaConflictError,
  DaytonaError,
  DaytonaForbiddenError,
  DaytonaNotFoundError,
  Workspace,
} from '@daytonaio/sdk';

import { releaseTestServer, testClient } from './server.js';

let daytona: Daytona;
let workspace: Workspace;
let local: string;

before(async () => {
  daytona = await testClient();
  workspace = await daytona.create({ language: 'typescript' });
  local = mkdtempSync(join(tmpdir(), 'daytona-ts-fs-'));
});

after(async () => {
  if (workspace) await daytona.remove(workspace).catch(() => undefined);
  rmSync(local, { recursive: true, force: true });
  await releaseTestServer();
});

async function sha256InSandbox(path: string): Promise<string> {
  const response = await workspace.process.executeCommand(`sha256sum ${path}`);
  assert.equal(response.exitCode, 0, response.result);
  return response.result.split(' ')[0] as string;
}

describe('file system', () => {
  test('the documented examples: list, create folder, upload, download, permissions, details', async () => {
    // Create a directory
    await workspace.fs.createFolder('/workspace/new-dir', '755');

    // Upload a single file
    const fileContent = new File(['Hello, World!'], 'data.txt', { type: 'text/plain' });
    await workspace.fs.uploadFile('/workspace/data.txt', fileContent);

    // List files in a directory
    const files = await workspace.fs.listFiles('/workspace');
    const byName = new Map(files.map((file) => [file.name, file]));
    assert.equal(byName.get('new-dir')?.isDir, true);
    assert.equal(byName.get('data.txt')?.isDir, false);
    assert.equal(byName.get('data.txt')?.size, 13);
    assert.ok(byName.get('data.txt')?.modTime);

    // Download a single file
    const downloadedFile = await workspace.fs.downloadFile('/workspace/data.txt');
    assert.equal(downloadedFile.toString(), 'Hello, World!');

    // Set file permissions
    await workspace.fs.setFilePermissions('/workspace/data.txt', { mode: '644' });
    // Get file permissions
    const fileInfo = await workspace.fs.getFileDetails('/workspace/data.txt');
    assert.equal(fileInfo.permissions, '0644');
    assert.equal(fileInfo.mode, '-rw-r--r--');
    assert.equal(fileInfo.owner, 'daytona');

    await workspace.fs.setFilePermissions('/workspace/data.txt', { mode: 0o600, group: 'daytona' });
    assert.equal((await workspace.fs.getFileDetails('/workspace/data.txt')).permissions, '0600');
    const folder = await workspace.fs.getFileDetails('/workspace/new-dir');
    assert.equal(folder.isDir, true);
    assert.equal(folder.permissions, '0755');
  });

  test('find, search, replace and move (the documented examples)', async () => {
    await workspace.fs.createFolder('/workspace/src');
    await workspace.fs.uploadFile('/workspace/src/file1.txt', 'one old_text\nnothing here\n');
    await workspace.fs.uploadFile('/workspace/src/file2.txt', Buffer.from('old_text and old_text\n'));
    await workspace.fs.uploadFile('/workspace/src/main.ts', 'const x = "text-of-interest";\n');

    // Search for text in files; if a folder is specified, the search is recursive
    const results = await workspace.fs.findFiles({ path: '/workspace/src', pattern: 'text-of-interest' });
    assert.deepEqual(results, [{ file: '/workspace/src/main.ts', line: 1, content: 'const x = "text-of-interest";' }]);
    const positional = await workspace.fs.findFiles('/workspace/src', 'old_text');
    assert.deepEqual(
      positional.map((m) => [m.file, m.line]),
      [
        ['/workspace/src/file1.txt', 1],
        ['/workspace/src/file2.txt', 1],
      ],
    );

    // Search files by name
    const found = await workspace.fs.searchFiles('/workspace', '*.txt');
    assert.ok(found.files.includes('/workspace/src/file1.txt'), JSON.stringify(found));
    assert.ok(found.files.includes('/workspace/src/file2.txt'));
    assert.ok(!found.files.includes('/workspace/src/main.ts'));

    // Replace content in files
    const replaced = await workspace.fs.replaceInFiles(
      ['/workspace/src/file1.txt', '/workspace/src/file2.txt', '/workspace/src/missing.txt'],
      'old_text',
      'new_text',
    );
    assert.deepEqual(
      replaced.map((r) => [r.file, r.success]),
      [
        ['/workspace/src/file1.txt', true],
        ['/workspace/src/file2.txt', true],
        ['/workspace/src/missing.txt', false],
      ],
    );
    assert.ok(replaced[2]?.error);
    assert.equal((await workspace.fs.downloadFile('/workspace/src/file2.txt')).toString(), 'new_text and new_text\n');

    // Move (rename) files
    await workspace.fs.moveFiles('/workspace/src/file1.txt', '/workspace/src/renamed.txt');
    assert.equal((await workspace.fs.downloadFile('/workspace/src/renamed.txt')).toString(), 'one new_text\nnothing here\n');
    await assert.rejects(workspace.fs.getFileDetails('/workspace/src/file1.txt'), DaytonaNotFoundError);

    // Delete
    await workspace.fs.deleteFile('/workspace/src/renamed.txt');
    await assert.rejects(workspace.fs.deleteFile('/workspace/src'), DaytonaBadRequestError);
    await workspace.fs.deleteFile('/workspace/src', true);
    await assert.rejects(workspace.fs.listFiles('/workspace/src'), DaytonaNotFoundError);
  });

  test('a large local file is streamed up (Content-Length) and down, byte for byte, without being held in memory', async (t) => {
    const size = 256 * 1024 * 1024;
    const path = join(local, 'big.bin');
    const block = randomBytes(1024 * 1024);
    const handle = await open(path, 'w');
    const hash = createHash('sha256');
    for (let written = 0; written < size; written += block.length) {
      block[0] = written / block.length; // every block differs
      await handle.write(block);
      hash.update(block);
    }
    await handle.close();
    const digest = hash.digest('hex');

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    await workspace.fs.uploadFile('/workspace/big.bin', await openAsBlob(path), { timeout: 120 });
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    t.diagnostic(`upload of ${size >> 20} MiB: RSS grew by ${(rssGrowth / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(rssGrowth < size / 2, `uploading ${size} bytes grew the RSS by ${rssGrowth} bytes`);
    assert.equal((await workspace.fs.getFileDetails('/workspace/big.bin')).size, size);
    assert.equal(await sha256InSandbox('/workspace/big.bin'), digest);

    const copy = join(local, 'copy.bin');
    global.gc?.();
    const rssBeforeDownload = process.memoryUsage().rss;
    await workspace.fs.downloadFile('/workspace/big.bin', copy, { timeout: 120 });
    const downloadGrowth = process.memoryUsage().rss - rssBeforeDownload;
    t.diagnostic(`download of ${size >> 20} MiB: RSS grew by ${(downloadGrowth / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(downloadGrowth < size / 2, `downloading ${size} bytes grew the RSS by ${downloadGrowth} bytes`);
    assert.equal(statSync(copy).size, size);
    const back = createHash('sha256');
    for await (const chunk of createReadStream(copy)) back.update(chunk as Buffer);
    assert.equal(back.digest('hex'), digest);
    rmSync(copy);
    await workspace.fs.deleteFile('/workspace/big.bin');
  });

  test('streams of bytes upload with a known size (Content-Length) or without (chunked)', async () => {
    const path = join(local, 'stream.txt');
    const content = 'line\n'.repeat(100_000);
    writeFileSync(path, content);
    await workspace.fs.uploadFile('/workspace/sized.txt', createReadStream(path), { size: Buffer.byteLength(content) });
    await workspace.fs.uploadFile('/workspace/chunked.txt', createReadStream(path));
    const web = new Blob([content]).stream();
    await workspace.fs.uploadFile('/workspace/web.txt', web);
    for (const name of ['sized', 'chunked', 'web']) {
      assert.equal((await workspace.fs.downloadFile(`/workspace/${name}.txt`)).toString(), content, name);
    }
    // A stream that does not hold the size given fails before anything is replaced.
    await workspace.fs.uploadFile('/workspace/keep.txt', 'original');
    await assert.rejects(workspace.fs.uploadFile('/workspace/keep.txt', createReadStream(path), { size: 10 }), DaytonaError);
    assert.equal((await workspace.fs.downloadFile('/workspace/keep.txt')).toString(), 'original');
  });

  test('downloadFileStream yields the bytes chunk by chunk', async () => {
    await workspace.fs.uploadFile('/workspace/chunks.bin', new Uint8Array(3 * 1024 * 1024).fill(7));
    let total = 0;
    for await (const chunk of workspace.fs.downloadFileStream('/workspace/chunks.bin')) {
      assert.ok(chunk.every((b) => b === 7));
      total += chunk.byteLength;
    }
    assert.equal(total, 3 * 1024 * 1024);
  });

  test('a failed download to a local path leaves nothing behind', async () => {
    const target = join(local, 'never.txt');
    await assert.rejects(workspace.fs.downloadFile('/workspace/missing.txt', target), DaytonaNotFoundError);
    assert.deepEqual(
      readdirSync(local).filter((name) => name.includes('never')),
      [],
    );
  });

  test('bad input raises typed errors and loses nothing', async () => {
    await assert.rejects(workspace.fs.downloadFile('/workspace/missing.txt'), DaytonaNotFoundError);
    await assert.rejects(workspace.fs.getFileDetails('/workspace/missing.txt'), DaytonaNotFoundError);
    await assert.rejects(workspace.fs.listFiles('/no/such/dir'), DaytonaNotFoundError);
    await assert.rejects(workspace.fs.uploadFile('/no/such/dir/file.txt', 'x'), DaytonaNotFoundError);
    await assert.rejects(workspace.fs.uploadFile('/workspace', 'x'), DaytonaBadRequestError);
    await assert.rejects(workspace.fs.uploadFile('/etc/passwd', 'x'), DaytonaForbiddenError);
    await assert.rejects(workspace.fs.setFilePermissions('/workspace/data.txt', { owner: 'root' }), DaytonaForbiddenError);
    await assert.rejects(workspace.fs.setFilePermissions('/workspace/data.txt', { mode: '999' }), DaytonaBadRequestError);
    await assert.rejects(workspace.fs.setFilePermissions('/workspace/data.txt', {}), DaytonaBadRequestError);
    await workspace.fs.uploadFile('/workspace/a.txt', 'a');
    await workspace.fs.uploadFile('/workspace/b.txt', 'b');
    await assert.rejects(workspace.fs.moveFiles('/workspace/a.txt', '/workspace/b.txt'), DaytonaConflictError);
    assert.equal((await workspace.fs.downloadFile('/workspace/b.txt')).toString(), 'b');
    await assert.rejects(workspace.fs.uploadFile('/workspace/x.txt', 42 as never), /uploadFile takes/);
    await assert.rejects(workspace.fs.listFiles(''), /path must be a non-empty string/);
    await assert.rejects(workspace.fs.findFiles({ path: '/workspace', pattern: '' }), /pattern must be a non-empty string/);
    assert.equal(readFileSync(join(local, 'stream.txt'), 'utf8').length > 0, true);
  });
});
