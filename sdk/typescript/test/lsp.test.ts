// The documentation's language server (LSP) examples, against a real server with real
// typescript-language-server and pylsp in the sandbox.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  CompletionList,
  Daytona,
  DaytonaBadRequestError,
  DaytonaConflictError,
  DaytonaError,
  DaytonaNotFoundError,
  LspLanguageId,
  LspServer,
  Workspace,
} from '@daytonaio/sdk';

import { releaseTestServer, testClient } from './server.js';

const PROJECT = '/workspace/project';
const INDEX_TS = `import { formatName } from "./util";

export function projectHelper(n: number): number {
  return n * 2;
}

export class User {
  greet(): string {
    return "hi";
  }
}

const s: string = "hello";
s.toUpp
projectHel
formatN
`;
const UTIL_TS = `export function formatName(first: string, last: string): string {
  return first + " " + last;
}

export interface UserRecord {
  name: string;
}
`;
const MAIN_PY = `import os


def helper_func(x):
    """Doubles its argument."""
    return x * 2


os.pa
`;

let daytona: Daytona;
let workspace: Workspace;

function labels(completions: CompletionList): string[] {
  return completions.items.map((item) => item.label);
}

before(async () => {
  daytona = await testClient();
  workspace = await daytona.create({ language: 'typescript' });
  await workspace.fs.createFolder(`${PROJECT}/src`);
  await workspace.fs.uploadFile(`${PROJECT}/tsconfig.json`, '{"compilerOptions": {"strict": true, "target": "es2020"}}');
  await workspace.fs.uploadFile(`${PROJECT}/src/index.ts`, INDEX_TS);
  await workspace.fs.uploadFile(`${PROJECT}/src/util.ts`, UTIL_TS);
  await workspace.fs.createFolder('/workspace/pyproj');
  await workspace.fs.uploadFile('/workspace/pyproj/main.py', MAIN_PY);
});

after(async () => {
  if (workspace) await daytona.remove(workspace).catch(() => undefined);
  await releaseTestServer();
});

describe('language servers', () => {
  test('the documented TypeScript example: start, didOpen, symbols, completions, didClose, stop', async () => {
    // Create LSP server for TypeScript
    const projectRoot = PROJECT;
    const lsp = workspace.createLspServer(LspLanguageId.TYPESCRIPT, projectRoot);
    assert.ok(lsp instanceof LspServer);

    // Start the server
    await lsp.start();
    try {
      assert.equal((await lsp.status()).state, 'running');

      // Notify server about opened file
      await lsp.didOpen(`${PROJECT}/src/index.ts`);

      // Get document symbols
      const symbols = await lsp.documentSymbols(`${PROJECT}/src/index.ts`);
      const kinds = new Map(symbols.map((symbol) => [symbol.name, symbol.kind]));
      assert.equal(kinds.get('projectHelper'), 12); // SymbolKind.Function
      assert.equal(kinds.get('User'), 5); // SymbolKind.Class
      assert.equal(kinds.get('greet'), 6); // SymbolKind.Method
      const helper = symbols.find((symbol) => symbol.name === 'projectHelper');
      assert.equal(helper?.location.uri, `file://${PROJECT}/src/index.ts`);
      assert.equal(helper?.location.range.start.line, 2);

      // Search workspace symbols
      const found = await lsp.workspaceSymbols('User');
      const where = found.map((symbol) => `${symbol.name}@${symbol.location.uri.split('/').pop()}`);
      assert.ok(where.includes('User@index.ts'), where.join(' '));
      assert.ok(where.includes('UserRecord@util.ts'), where.join(' '));
      assert.deepEqual(
        (await lsp.sandboxSymbols('formatName')).map((symbol) => symbol.name),
        ['formatName'],
      );

      // Get completions
      const completions = await lsp.completions(`${PROJECT}/src/index.ts`, { line: 13, character: 7 });
      assert.ok(labels(completions).includes('toUpperCase'));
      const upper = completions.items.find((item) => item.label === 'toUpperCase');
      assert.equal(upper?.kind, 2); // CompletionItemKind.Method
      const project = await lsp.getCompletions('src/index.ts', { line: 14, character: 10 }); // relative to the project
      assert.ok(labels(project).includes('projectHelper'));
      const imported = await lsp.completions(`${PROJECT}/src/index.ts`, { line: 15, character: 7 });
      assert.ok(labels(imported).includes('formatName'));

      await lsp.didClose(`${PROJECT}/src/index.ts`);
    } finally {
      await lsp.stop();
    }
    assert.equal((await lsp.status()).state, 'stopped');
  });

  test('python: completions of the standard library and symbols of the file', async () => {
    const lsp = workspace.createLspServer('python', '/workspace/pyproj');
    await lsp.start();
    try {
      await lsp.didOpen('/workspace/pyproj/main.py');
      const completions = await lsp.completions('/workspace/pyproj/main.py', { line: 8, character: 5 });
      assert.ok(labels(completions).includes('path'), labels(completions).join(' '));
      const symbols = await lsp.documentSymbols('main.py');
      assert.ok(symbols.some((symbol) => symbol.name === 'helper_func' && symbol.kind === 12));
    } finally {
      await lsp.stop();
    }
  });

  test('bad input raises typed errors', async () => {
    assert.throws(() => workspace.createLspServer('rust' as never, PROJECT), /languageId must be one of/);
    assert.throws(() => workspace.createLspServer(LspLanguageId.PYTHON, ''), /pathToProject/);
    const idle = workspace.createLspServer(LspLanguageId.PYTHON, '/workspace');
    await assert.rejects(idle.completions('/workspace/pyproj/main.py', { line: 0, character: 0 }), DaytonaConflictError);
    await assert.rejects(idle.stop(), DaytonaConflictError);
    await assert.rejects(workspace.createLspServer(LspLanguageId.PYTHON, '/workspace/nowhere').start(), DaytonaNotFoundError);

    const lsp = workspace.createLspServer(LspLanguageId.PYTHON, '/workspace/pyproj');
    await lsp.start();
    try {
      await assert.rejects(lsp.didOpen('/workspace/pyproj/missing.py'), DaytonaNotFoundError);
      await assert.rejects(lsp.didOpen('/etc/passwd'), DaytonaBadRequestError);
      await assert.rejects(lsp.completions('/workspace/pyproj/main.py', { line: 500, character: 0 }), DaytonaBadRequestError);
      await assert.rejects(lsp.completions('/workspace/pyproj/main.py', { line: 0, character: -1 }), DaytonaBadRequestError);
      await assert.rejects(lsp.didOpen(''), DaytonaError);
      // the server is unharmed
      assert.ok(labels(await lsp.completions('/workspace/pyproj/main.py', { line: 8, character: 5 })).includes('path'));
    } finally {
      await lsp.stop();
    }
  });
});
