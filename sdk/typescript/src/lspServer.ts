/**
 * `workspace.createLspServer(...)`: a language server in the sandbox, for completions and symbols.
 * @module
 */
import { DaytonaError } from './errors.js';
import { HttpClient } from './http.js';

/** Languages with a language server in the default image (javascript uses TypeScript's). */
export enum LspLanguageId {
  PYTHON = 'python',
  TYPESCRIPT = 'typescript',
  JAVASCRIPT = 'javascript',
}

/** A zero-based position in a text document: line, and character offset within the line. */
export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface LspLocation {
  uri: string;
  range: Range;
}

/** A symbol (function, class, variable, ...): its name, LSP SymbolKind number and location. */
export interface LspSymbol {
  name: string;
  kind: number;
  location: LspLocation;
  containerName?: string | null;
  [field: string]: unknown;
}

/** One completion as the language server returned it (documentation is MarkupContent). */
export interface CompletionItem {
  label: string;
  kind?: number | null;
  detail?: string | null;
  documentation?: unknown;
  sortText?: string | null;
  filterText?: string | null;
  insertText?: string | null;
  [field: string]: unknown;
}

export interface CompletionList {
  isIncomplete: boolean;
  items: CompletionItem[];
}

/** A language server of the sandbox: `state` is starting, running, crashed or stopped. */
export interface LspServerStatus {
  languageId: string;
  pathToProject: string;
  state: string;
  pid?: number | null;
  exitCode?: number | null;
  error?: string | null;
  openDocuments?: number;
}

// Starting a server waits for its `initialize` answer; the agent gives up after 60 s.
const START_TIMEOUT_S = 90;
// Each request to a language server has a 30 s deadline in the agent.
const REQUEST_TIMEOUT_S = 60;

/**
 * A language server for one language and project directory. Call `start()` first.
 *
 * Paths are absolute, or relative to `pathToProject`. Files are read from disk by the sandbox, and
 * re-read when they change, so callers never send file contents.
 */
export class LspServer {
  readonly languageId: string;
  readonly pathToProject: string;
  readonly #http: HttpClient;
  readonly #base: string;

  /** @internal Made by `workspace.createLspServer(languageId, pathToProject)`. */
  constructor(http: HttpClient, workspaceId: string, languageId: LspLanguageId | `${LspLanguageId}`, pathToProject: string) {
    if (!(Object.values(LspLanguageId) as string[]).includes(languageId)) {
      throw new DaytonaError(`languageId must be one of ${Object.values(LspLanguageId).join(', ')}, not ${JSON.stringify(languageId)}`);
    }
    if (typeof pathToProject !== 'string' || !pathToProject) throw new DaytonaError('pathToProject must be a non-empty string');
    this.#http = http;
    this.#base = `/toolbox/${encodeURIComponent(workspaceId)}/toolbox/lsp`;
    this.languageId = languageId;
    this.pathToProject = pathToProject;
  }

  #server(): { languageId: string; pathToProject: string } {
    return { languageId: this.languageId, pathToProject: this.pathToProject };
  }

  static #uri(path: string): string {
    // A relative path gives `file://src/a.py`, which the sandbox resolves against the project.
    if (typeof path !== 'string' || !path) throw new DaytonaError('path must be a non-empty string');
    return 'file://' + encodeURI(path).replace(/[?#]/g, encodeURIComponent);
  }

  /** Start the language server (a no-op when it already runs) and wait until it is ready. */
  async start(): Promise<void> {
    await this.#http.request('POST', `${this.#base}/start`, { json: this.#server(), timeout: START_TIMEOUT_S });
  }

  /** Stop the language server: shutdown and exit, killed after a deadline. */
  async stop(): Promise<void> {
    await this.#http.request('POST', `${this.#base}/stop`, { json: this.#server(), timeout: START_TIMEOUT_S });
  }

  /** Open a file in the server (read from the sandbox's disk). */
  async didOpen(path: string): Promise<void> {
    await this.#http.request('POST', `${this.#base}/did-open`, {
      json: { ...this.#server(), uri: LspServer.#uri(path) },
      timeout: REQUEST_TIMEOUT_S,
    });
  }

  /** Close a file in the server. */
  async didClose(path: string): Promise<void> {
    await this.#http.request('POST', `${this.#base}/did-close`, {
      json: { ...this.#server(), uri: LspServer.#uri(path) },
      timeout: REQUEST_TIMEOUT_S,
    });
  }

  /** Completions at a zero-based position, as the server returns them (label, kind, detail, ...). */
  async completions(path: string, position: Position): Promise<CompletionList> {
    if (typeof position !== 'object' || position === null) throw new DaytonaError('position must be { line, character }');
    const json = { ...this.#server(), uri: LspServer.#uri(path), position: { line: position.line, character: position.character } };
    return this.#http.request<CompletionList>('POST', `${this.#base}/completions`, { json, timeout: REQUEST_TIMEOUT_S });
  }

  /** The same as `completions`. */
  async getCompletions(path: string, position: Position): Promise<CompletionList> {
    return this.completions(path, position);
  }

  /** Symbols (functions, classes, variables, ...) defined in a file. */
  async documentSymbols(path: string): Promise<LspSymbol[]> {
    const query = { ...this.#server(), uri: LspServer.#uri(path) };
    return this.#http.request<LspSymbol[]>('GET', `${this.#base}/document-symbols`, { query, timeout: REQUEST_TIMEOUT_S });
  }

  /** Symbols across the project whose name contains `query`. */
  async workspaceSymbols(query: string): Promise<LspSymbol[]> {
    if (typeof query !== 'string') throw new DaytonaError('query must be a string');
    return this.#http.request<LspSymbol[]>('GET', `${this.#base}/workspace-symbols`, {
      query: { ...this.#server(), query },
      timeout: REQUEST_TIMEOUT_S,
    });
  }

  /** The same as `workspaceSymbols`, under the documentation's newer name. */
  async sandboxSymbols(query: string): Promise<LspSymbol[]> {
    return this.workspaceSymbols(query);
  }

  /** The server's state: running, crashed (with its exit code and error), or stopped. */
  async status(): Promise<LspServerStatus> {
    const data = await this.#http.request<LspServerStatus[]>('GET', `${this.#base}/servers`, { query: this.#server() });
    return data[0] ?? { ...this.#server(), state: 'stopped' };
  }
}
