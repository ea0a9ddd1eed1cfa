// The settings that `tapkit lsp` reads, as one value: the client sends it as initializationOptions,
// answers workspace/configuration for section "tapkit" with it, and pushes it on change.
// No `vscode` import here, so the tests run it under plain node.
import * as path from 'node:path';

export interface ServerSettings {
  /** Extra tapset directories, like `stap -I DIR`, in search order. Absolute paths. */
  tapsetDirs: string[];
  /** Kernel release, like `stap -r`; "" means the running kernel. */
  release: string;
  /** Kernel .config for `%( CONFIG_… %)`; "" means the release's build/.config. Absolute path or "". */
  kernelConfig: string;
  /** Debuginfo files or directories, like `stap --debuginfo`. Absolute paths. */
  debuginfo: string[];
  /** Check as `stap -g` would. */
  guruMode: boolean;
}

export interface PathContext {
  /** The workspace folder that relative paths and ${workspaceFolder} refer to, if any. */
  folder: string | undefined;
  home: string;
}

/** Expands ${userHome}, ${workspaceFolder} and a leading ~, then makes a relative path absolute from `folder`. */
export function expandPath(value: string, ctx: PathContext): string {
  let out = value.trim();
  if (out === '') {
    return '';
  }
  out = out.replace(/\$\{userHome\}/g, ctx.home);
  if (ctx.folder !== undefined) {
    out = out.replace(/\$\{workspaceFolder\}/g, ctx.folder);
  }
  if (out === '~' || out.startsWith('~/')) {
    out = ctx.home + out.slice(1);
  }
  if (!path.isAbsolute(out) && ctx.folder !== undefined && !out.includes('${')) {
    out = path.resolve(ctx.folder, out);
  }
  return out;
}

function stringList(value: unknown, ctx: PathContext): string[] {
  if (!Array.isArray(value)) {
    return [];
  }
  return value
    .filter((item): item is string => typeof item === 'string' && item.trim() !== '')
    .map((item) => expandPath(item, ctx));
}

/** Builds the server's settings from the raw "tapkit" configuration; wrongly typed values fall back to defaults. */
export function serverSettings(raw: Readonly<Record<string, unknown>>, ctx: PathContext): ServerSettings {
  const release = raw['release'];
  const kernelConfig = raw['kernelConfig'];
  return {
    tapsetDirs: stringList(raw['tapsetDirs'], ctx),
    release: typeof release === 'string' ? release.trim() : '',
    kernelConfig: typeof kernelConfig === 'string' ? expandPath(kernelConfig, ctx) : '',
    debuginfo: stringList(raw['debuginfo'], ctx),
    guruMode: raw['guruMode'] === true,
  };
}

/** The keys of ServerSettings, i.e. the `tapkit.*` settings the server reads. */
export const SERVER_SETTING_KEYS: readonly (keyof ServerSettings)[] = [
  'tapsetDirs',
  'release',
  'kernelConfig',
  'debuginfo',
  'guruMode',
];
