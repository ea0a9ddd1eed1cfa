// The contract between this client and `tapkit lsp`: the server found the way the extension finds it,
// started the way the extension starts it, initialised and configured with the extension's settings,
// answers with diagnostics for an open script. Skipped while the `lsp` subcommand is not built.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import {
  ConfigurationRequest,
  createProtocolConnection,
  DidChangeConfigurationNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  type PublishDiagnosticsParams,
  PublishDiagnosticsNotification,
  RegistrationRequest,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  WorkDoneProgressCreateRequest,
} from 'vscode-languageserver-protocol/node';
import { findServer } from '../src/server-command';
import { serverSettings } from '../src/settings';
import { EXT_ROOT } from './tokenize';

const REPO_ROOT = path.resolve(EXT_ROOT, '..');
const START_TIMEOUT_MS = 120_000; // a cold start indexes the whole tapset library

function debianRelease(): string {
  const releases = fs.existsSync('/lib/modules') ? fs.readdirSync('/lib/modules').filter((r) => r.endsWith('-amd64')) : [];
  return releases.sort().at(-1) ?? '';
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

test('tapkit lsp starts with the extension settings and publishes diagnostics for an open script', async (t) => {
  const { found, searched } = findServer({
    configured: process.env['TAPKIT_SERVER'] ?? '',
    folders: [REPO_ROOT],
    trusted: true,
    home: os.homedir(),
    pathEnv: process.env['PATH'] ?? '',
  });
  if (found === undefined) {
    assert.ok(process.env['CI'] !== 'true', `tapkit is not installed (looked at ${searched.join(', ')})`);
    t.skip('tapkit is not installed');
    return;
  }
  const help = spawnSync(found.command, [...found.args, '--help'], { encoding: 'utf8', timeout: 60_000 });
  if (help.status !== 0) {
    t.skip(`\`${found.command} lsp\` is not built yet: ${(help.stderr || help.stdout).trim().split('\n').at(-1) ?? ''}`);
    return;
  }

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tapkit-ext-lsp-'));
  t.after(() => fs.rmSync(scratch, { recursive: true, force: true }));
  const script = path.join(scratch, 'broken.stp');
  const text = 'probe begin {\n  x = \n}\n';
  fs.writeFileSync(script, text);
  const uri = pathToFileURL(script).href;
  const settings = serverSettings(
    { tapsetDirs: ['tapsets/openafs'], release: debianRelease(), debuginfo: [], guruMode: false },
    { folder: REPO_ROOT, home: os.homedir() },
  );

  const child = spawn(found.command, found.args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.after(() => {
    if (child.exitCode === null) {
      child.kill();
    }
  });
  const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  const configurationSections: (string | undefined)[] = [];
  connection.onRequest(ConfigurationRequest.type, (params) =>
    params.items.map((item) => {
      configurationSections.push(item.section);
      return item.section === 'tapkit' ? settings : null;
    }),
  );
  connection.onRequest(RegistrationRequest.type, () => undefined);
  connection.onRequest(WorkDoneProgressCreateRequest.type, () => undefined);
  const diagnostics = new Promise<PublishDiagnosticsParams>((resolve) => {
    connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
      if (params.uri === uri && params.diagnostics.length > 0) {
        resolve(params);
      }
    });
  });
  connection.listen();

  try {
    const rootUri = pathToFileURL(REPO_ROOT).href;
    const init = await within(
      connection.sendRequest(InitializeRequest.type, {
        processId: process.pid,
        rootUri,
        workspaceFolders: [{ uri: rootUri, name: path.basename(REPO_ROOT) }],
        initializationOptions: settings,
        capabilities: {
          workspace: { configuration: true, workspaceFolders: true, didChangeConfiguration: { dynamicRegistration: true } },
          textDocument: { publishDiagnostics: { relatedInformation: true }, synchronization: { didSave: true } },
          window: { workDoneProgress: true },
        },
      }),
      START_TIMEOUT_MS,
      'initialize result',
    );
    assert.ok(init.capabilities.textDocumentSync !== undefined, 'the server syncs no documents');
    await connection.sendNotification(InitializedNotification.type, {});
    await connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: 'systemtap', version: 1, text },
    });
    const published = await within(diagnostics, START_TIMEOUT_MS, `diagnostics for ${script}`);
    assert.ok(published.diagnostics.some((d) => d.range.start.line <= 2), JSON.stringify(published.diagnostics));
    await connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { tapkit: settings } });
    await within(connection.sendRequest(ShutdownRequest.type), 30_000, 'shutdown result');
    await connection.sendNotification(ExitNotification.type);
    assert.equal(await within(exited, 30_000, 'exit'), 0);
    t.diagnostic(`workspace/configuration sections asked: ${JSON.stringify(configurationSections)}`);
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\nserver stderr:\n${stderr.slice(-4000)}`);
  } finally {
    connection.dispose();
  }
});
