// Where the `tapkit` executable that serves `tapkit lsp` is: pure lookup, so tests run it under plain node.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expandPath } from './settings';

export type ServerOrigin = 'tapkit.serverPath' | 'workspace .venv' | 'PATH';

export interface ServerCommand {
  command: string;
  args: string[];
  origin: ServerOrigin;
}

export interface ServerLookup {
  /** The tapkit.serverPath setting ("" when unset). */
  configured: string;
  /** Workspace folder paths, first one first. */
  folders: readonly string[];
  /** Whether the workspace is trusted: an untrusted one's .venv is never run. */
  trusted: boolean;
  home: string;
  /** The PATH environment variable. */
  pathEnv: string;
}

export interface ServerLookupResult {
  found: ServerCommand | undefined;
  /** Every path looked at, in order, for the error message when nothing was found. */
  searched: string[];
}

export const SERVER_ARGS: readonly string[] = ['lsp'];

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) {
      return false;
    }
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, pathEnv: string, searched: string[]): string | undefined {
  for (const dir of pathEnv.split(path.delimiter)) {
    if (dir === '') {
      continue; // an empty PATH entry means the cwd, which is the workspace: never run from there implicitly
    }
    const candidate = path.join(dir, name);
    searched.push(candidate);
    if (isExecutableFile(candidate)) {
      return candidate;
    }
  }
  return undefined;
}

/**
 * Finds the server: tapkit.serverPath when set (a bare name is looked up on PATH), else the first
 * workspace folder's .venv/bin/tapkit that exists (trusted workspaces only), else `tapkit` on PATH.
 */
export function findServer(lookup: ServerLookup): ServerLookupResult {
  const searched: string[] = [];
  const args = [...SERVER_ARGS];
  const configured = lookup.configured.trim();
  if (configured !== '') {
    const bareName = !configured.includes('/') && !configured.startsWith('~') && !configured.includes('${');
    const command = bareName
      ? onPath(configured, lookup.pathEnv, searched)
      : expandPath(configured, { folder: lookup.folders[0], home: lookup.home });
    if (!bareName && command !== undefined) {
      searched.push(command);
    }
    const ok = command !== undefined && isExecutableFile(command);
    return { found: ok ? { command, args, origin: 'tapkit.serverPath' } : undefined, searched };
  }
  if (lookup.trusted) {
    for (const folder of lookup.folders) {
      const candidate = path.join(folder, '.venv', 'bin', 'tapkit');
      searched.push(candidate);
      if (isExecutableFile(candidate)) {
        return { found: { command: candidate, args, origin: 'workspace .venv' }, searched };
      }
    }
  }
  const command = onPath('tapkit', lookup.pathEnv, searched);
  return { found: command !== undefined ? { command, args, origin: 'PATH' } : undefined, searched };
}
