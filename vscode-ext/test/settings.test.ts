// The client's two pure parts: turning "tapkit.*" settings into what the server gets, and finding
// the `tapkit` executable (on real files in a temporary directory).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { findServer, type ServerLookup } from '../src/server-command';
import { expandPath, serverSettings } from '../src/settings';

const HOME = '/home/ann';
const FOLDER = '/work/proj';

describe('expandPath', () => {
  test('~, ${userHome} and ${workspaceFolder} are expanded; relative paths are taken from the folder', () => {
    const ctx = { folder: FOLDER, home: HOME };
    assert.equal(expandPath('~/tapsets', ctx), '/home/ann/tapsets');
    assert.equal(expandPath('~', ctx), HOME);
    assert.equal(expandPath('${userHome}/x', ctx), '/home/ann/x');
    assert.equal(expandPath('${workspaceFolder}/tapsets/openafs', ctx), '/work/proj/tapsets/openafs');
    assert.equal(expandPath('tapsets/vfs', ctx), '/work/proj/tapsets/vfs');
    assert.equal(expandPath('../shared', ctx), '/work/shared');
    assert.equal(expandPath('/usr/share/systemtap/tapset', ctx), '/usr/share/systemtap/tapset');
    assert.equal(expandPath('  ', ctx), '');
  });

  test('without a workspace folder a relative path stays relative and ${workspaceFolder} stays as written', () => {
    const ctx = { folder: undefined, home: HOME };
    assert.equal(expandPath('tapsets', ctx), 'tapsets');
    assert.equal(expandPath('${workspaceFolder}/t', ctx), '${workspaceFolder}/t');
    assert.equal(expandPath('~user/t', ctx), '~user/t');
  });
});

describe('serverSettings', () => {
  test('well-typed settings pass through with paths expanded', () => {
    const settings = serverSettings(
      {
        tapsetDirs: ['tapsets/openafs', '~/my-tapsets'],
        release: ' 6.1.0-56-amd64 ',
        kernelConfig: '${workspaceFolder}/config-6.1',
        debuginfo: ['/root/.cache/tapkit/fixtures/openafs/openafs.ko'],
        guruMode: true,
      },
      { folder: FOLDER, home: HOME },
    );
    assert.deepEqual(settings, {
      tapsetDirs: ['/work/proj/tapsets/openafs', '/home/ann/my-tapsets'],
      release: '6.1.0-56-amd64',
      kernelConfig: '/work/proj/config-6.1',
      debuginfo: ['/root/.cache/tapkit/fixtures/openafs/openafs.ko'],
      guruMode: true,
    });
  });

  test('missing or wrongly typed values fall back to the defaults; blank and non-string list items are dropped', () => {
    const settings = serverSettings(
      { tapsetDirs: 'not-a-list', release: 61, kernelConfig: null, debuginfo: ['', 7, 'a.ko'], guruMode: 'yes' },
      { folder: FOLDER, home: HOME },
    );
    assert.deepEqual(settings, {
      tapsetDirs: [],
      release: '',
      kernelConfig: '',
      debuginfo: ['/work/proj/a.ko'],
      guruMode: false,
    });
    assert.deepEqual(serverSettings({}, { folder: undefined, home: HOME }), {
      tapsetDirs: [],
      release: '',
      kernelConfig: '',
      debuginfo: [],
      guruMode: false,
    });
  });
});

describe('findServer', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tapkit-ext-'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  function executable(file: string, mode = 0o755): string {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '#!/bin/sh\nexit 0\n');
    fs.chmodSync(file, mode);
    return file;
  }

  const workspace = path.join(root, 'ws');
  const venvTapkit = executable(path.join(workspace, '.venv', 'bin', 'tapkit'));
  const pathDir = path.join(root, 'bin');
  const pathTapkit = executable(path.join(pathDir, 'tapkit'));
  const otherDir = path.join(root, 'other');
  const custom = executable(path.join(otherDir, 'my-tapkit'));
  executable(path.join(root, 'not-exec', 'tapkit'), 0o644);

  const base: ServerLookup = {
    configured: '',
    folders: [workspace],
    trusted: true,
    home: root,
    pathEnv: [path.join(root, 'not-exec'), pathDir].join(path.delimiter),
  };

  test("the workspace's .venv/bin/tapkit comes first, with the lsp subcommand", () => {
    const { found } = findServer(base);
    assert.deepEqual(found, { command: venvTapkit, args: ['lsp'], origin: 'workspace .venv' });
  });

  test('an untrusted workspace never runs its own .venv: PATH is used instead', () => {
    const { found, searched } = findServer({ ...base, trusted: false });
    assert.deepEqual(found, { command: pathTapkit, args: ['lsp'], origin: 'PATH' });
    assert.ok(!searched.includes(venvTapkit));
  });

  test('without a .venv, the first executable tapkit on PATH (a non-executable file is passed over)', () => {
    const { found, searched } = findServer({ ...base, folders: [otherDir] });
    assert.equal(found?.command, pathTapkit);
    assert.deepEqual(searched, [
      path.join(otherDir, '.venv', 'bin', 'tapkit'),
      path.join(root, 'not-exec', 'tapkit'),
      pathTapkit,
    ]);
  });

  test('tapkit.serverPath wins: absolute, ~-relative, workspace-relative, or a bare name on PATH', () => {
    assert.equal(findServer({ ...base, configured: custom }).found?.command, custom);
    assert.equal(findServer({ ...base, configured: '~/other/my-tapkit' }).found?.command, custom);
    assert.equal(findServer({ ...base, configured: '../other/my-tapkit' }).found?.command, custom);
    assert.equal(findServer({ ...base, configured: '${workspaceFolder}/.venv/bin/tapkit' }).found?.command, venvTapkit);
    const bare = findServer({ ...base, configured: 'my-tapkit', pathEnv: `${pathDir}${path.delimiter}${otherDir}` });
    assert.deepEqual(bare.found, { command: custom, args: ['lsp'], origin: 'tapkit.serverPath' });
  });

  test('a tapkit.serverPath that does not exist is reported, not silently replaced by another tapkit', () => {
    const missing = path.join(root, 'nowhere', 'tapkit');
    const result = findServer({ ...base, configured: missing });
    assert.equal(result.found, undefined);
    assert.deepEqual(result.searched, [missing]);
  });

  test('nothing anywhere: not found, with every place looked at; empty PATH entries are not the cwd', () => {
    const result = findServer({ ...base, folders: [otherDir], pathEnv: `${path.delimiter}${otherDir}` });
    assert.equal(result.found, undefined);
    assert.deepEqual(result.searched, [path.join(otherDir, '.venv', 'bin', 'tapkit'), path.join(otherDir, 'tapkit')]);
  });
});
