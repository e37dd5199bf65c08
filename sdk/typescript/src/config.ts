/**
 * Where the SDK finds its API key, server URL and target, exactly as the Python SDK does.
 *
 * Each setting is taken from the first place that has it: the `DaytonaConfig` given in code, the
 * environment (`DAYTONA_API_KEY`, `DAYTONA_SERVER_URL`, `DAYTONA_TARGET`), a `.env` file in the
 * current directory, the config file written by `daytona login`, and finally the defaults (target `us`).
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

import { DaytonaError } from './errors.js';

export const DEFAULT_TARGET = 'us';

/** Settings given in code; they win over every other source. Leave a field out to look it up. */
export interface DaytonaConfig {
  /** API key (`dtn_...`), sent as a Bearer token. */
  apiKey?: string;
  /** URL of the server's API, e.g. `http://127.0.0.1:3000/api`. */
  serverUrl?: string;
  /** Region the sandboxes are created in: `us` (default), `eu` or `asia`. */
  target?: string;
}

/** A configuration with every field found. */
export interface ResolvedConfig {
  apiKey: string;
  serverUrl: string;
  target: string;
}

const FIELDS = [
  ['apiKey', 'DAYTONA_API_KEY'],
  ['serverUrl', 'DAYTONA_SERVER_URL'],
  ['target', 'DAYTONA_TARGET'],
] as const;

type Field = (typeof FIELDS)[number][0];

/** The file `daytona login` writes: $DAYTONA_CONFIG_DIR/config.json or ~/.config/daytona/config.json. */
export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DAYTONA_CONFIG_DIR) return join(env.DAYTONA_CONFIG_DIR, 'config.json');
  const xdg = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(xdg, 'daytona', 'config.json');
}

function readConfigFile(path: string): Partial<Record<Field, string>> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new DaytonaError(`cannot read the config file ${path}: ${(error as Error).message}; fix it or run \`daytona login\``);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new DaytonaError(`cannot read the config file ${path}: ${(error as Error).message}; fix it or run \`daytona login\``);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return {};
  const found: Partial<Record<Field, string>> = {};
  for (const [field] of FIELDS) {
    const value = (data as Record<string, unknown>)[field];
    if (value !== undefined && value !== null && value !== '') found[field] = String(value);
  }
  return found;
}

/**
 * Parse a `.env` file: `NAME=value` lines, optional `export `, `#` comments, values in single
 * quotes (literal) or double quotes (with `\n`, `\t`, `\"`, `\\` escapes).
 */
export function parseDotenv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const line = /^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.]*)[ \t]*=[ \t]*('[^'\n]*'|"(?:\\.|[^"\\\n])*"|[^\n]*?)(?:[ \t]+#[^\n]*)?[ \t]*$/gm;
  for (const match of text.replace(/\r\n?/g, '\n').matchAll(line)) {
    const name = match[1] as string;
    let value = match[2] ?? '';
    if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) {
      value = value.slice(1, -1);
    } else if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
      const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
      value = value.slice(1, -1).replace(/\\(.)/g, (whole, c: string) => escapes[c] ?? whole);
    }
    values[name] = value;
  }
  return values;
}

function readDotenv(path: string): Record<string, string> {
  try {
    if (!statSync(path).isFile()) return {};
    return parseDotenv(readFileSync(path, 'utf8'));
  } catch {
    return {};
  }
}

/**
 * Merge the sources in order of precedence; throw DaytonaError when the key or URL is missing.
 * `dotenvPath` is the `.env` file to read (default: `.env` in the current directory).
 */
export function resolveConfig(
  config?: DaytonaConfig,
  options: { env?: NodeJS.ProcessEnv; dotenvPath?: string } = {},
): ResolvedConfig {
  if (config !== undefined && (typeof config !== 'object' || config === null)) {
    throw new DaytonaError('config must be an object like { apiKey, serverUrl, target }');
  }
  const env = options.env ?? process.env;
  const dotenv = readDotenv(resolve(options.dotenvPath ?? '.env'));
  const fileValues = readConfigFile(configFilePath(env));
  const resolved: Partial<Record<Field, string>> = {};
  for (const [field, envName] of FIELDS) {
    const explicit = config?.[field];
    if (explicit !== undefined && explicit !== null && typeof explicit !== 'string') {
      throw new DaytonaError(`${field} must be a string`);
    }
    resolved[field] = explicit || env[envName] || dotenv[envName] || fileValues[field] || undefined;
  }
  if (!resolved.apiKey) {
    throw new DaytonaError(
      'API key is required: pass new Daytona({ apiKey: ... }), set DAYTONA_API_KEY, or run `daytona login`',
    );
  }
  if (!resolved.serverUrl) {
    throw new DaytonaError(
      'Server URL is required: pass new Daytona({ serverUrl: ... }), set DAYTONA_SERVER_URL' +
        ' (e.g. http://127.0.0.1:3000/api), or run `daytona login`',
    );
  }
  let url: URL;
  try {
    url = new URL(resolved.serverUrl);
  } catch {
    throw new DaytonaError(`server URL ${JSON.stringify(resolved.serverUrl)} is not a URL (e.g. http://127.0.0.1:3000/api)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DaytonaError(`server URL ${resolved.serverUrl} must start with http:// or https://`);
  }
  return {
    apiKey: resolved.apiKey,
    serverUrl: resolved.serverUrl.replace(/\/+$/, ''),
    target: resolved.target || DEFAULT_TARGET,
  };
}
