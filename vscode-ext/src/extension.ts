// The VS Code side of tapkit: starts `tapkit lsp` over stdio and keeps it fed with the "tapkit" settings.
// All analysis lives in the Python server; this file only launches, configures and restarts it.
import * as os from 'node:os';
import * as vscode from 'vscode';
import {
  type ConfigurationParams,
  DidChangeConfigurationNotification,
  type Executable,
  LanguageClient,
  type LanguageClientOptions,
  TransportKind,
} from 'vscode-languageclient/node';
import { findServer } from './server-command';
import { type ServerSettings, serverSettings } from './settings';

const SECTION = 'tapkit';

function folderPaths(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).map((folder) => folder.uri.fsPath);
}

/** The server's settings for the folder holding `scope` (or the first folder). */
function settingsFor(scope: vscode.Uri | undefined): ServerSettings {
  const cfg = vscode.workspace.getConfiguration(SECTION, scope);
  const folder = scope !== undefined ? vscode.workspace.getWorkspaceFolder(scope)?.uri.fsPath : folderPaths()[0];
  return serverSettings(
    {
      tapsetDirs: cfg.get<unknown>('tapsetDirs'),
      release: cfg.get<unknown>('release'),
      kernelConfig: cfg.get<unknown>('kernelConfig'),
      debuginfo: cfg.get<unknown>('debuginfo'),
      guruMode: cfg.get<unknown>('guruMode'),
    },
    { folder, home: os.homedir() },
  );
}

/** Answers the server's workspace/configuration pulls; section "tapkit" gets the normalised settings. */
async function answerConfiguration(
  params: ConfigurationParams,
  next: (params: ConfigurationParams) => Promise<unknown[]>,
): Promise<unknown[]> {
  const raw = await next(params);
  return params.items.map((item, index) => {
    if (item.section !== SECTION) {
      return raw[index];
    }
    return settingsFor(item.scopeUri !== undefined ? vscode.Uri.parse(item.scopeUri) : undefined);
  });
}

class ServerSession {
  private client: LanguageClient | undefined;

  constructor(private readonly output: vscode.OutputChannel) {}

  async start(): Promise<void> {
    const lookup = findServer({
      configured: vscode.workspace.getConfiguration(SECTION).get<string>('serverPath') ?? '',
      folders: folderPaths(),
      trusted: vscode.workspace.isTrusted,
      home: os.homedir(),
      pathEnv: process.env['PATH'] ?? '',
    });
    if (lookup.found === undefined) {
      this.output.appendLine('tapkit language server not found; looked at:');
      for (const place of lookup.searched) {
        this.output.appendLine(`  ${place}`);
      }
      const choice = await vscode.window.showErrorMessage(
        'tapkit: cannot find the `tapkit` executable for the language server. ' +
          'Install tapkit (e.g. in the workspace .venv) or set tapkit.serverPath.',
        'Open Settings',
        'Show Output',
      );
      if (choice === 'Open Settings') {
        await vscode.commands.executeCommand('workbench.action.openSettings', 'tapkit.serverPath');
      } else if (choice === 'Show Output') {
        this.output.show(true);
      }
      return;
    }
    const { command, args, origin } = lookup.found;
    this.output.appendLine(`starting ${command} ${args.join(' ')} (from ${origin})`);
    const cwd = folderPaths()[0];
    const executable: Executable = {
      command,
      args,
      transport: TransportKind.stdio,
      ...(cwd !== undefined ? { options: { cwd } } : {}),
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: 'file', language: 'systemtap' },
        { scheme: 'untitled', language: 'systemtap' },
      ],
      initializationOptions: settingsFor(undefined),
      outputChannel: this.output,
      synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.{stp,stpm}') },
      middleware: {
        workspace: {
          configuration: (params, token, next) =>
            answerConfiguration(params, async (p) => {
              const result = await next(p, token);
              return Array.isArray(result) ? result : p.items.map(() => null);
            }),
        },
      },
    };
    // Client id "tapkit" makes vscode-languageclient honour the tapkit.trace.server setting.
    const client = new LanguageClient(SECTION, 'tapkit', executable, clientOptions);
    this.client = client;
    try {
      await client.start();
    } catch (error) {
      this.client = undefined;
      const message = error instanceof Error ? error.message : String(error);
      this.output.appendLine(`the language server failed to start: ${message}`);
      void vscode.window.showErrorMessage(`tapkit: the language server failed to start (${command}): ${message}`);
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined && client.isRunning()) {
      await client.stop();
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** A new server path needs a new process; other settings are pushed to the running server. */
  async configurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
    if (event.affectsConfiguration(`${SECTION}.serverPath`)) {
      await this.restart();
      return;
    }
    if (!event.affectsConfiguration(SECTION) || this.client === undefined || !this.client.isRunning()) {
      return;
    }
    await this.client.sendNotification(DidChangeConfigurationNotification.type, {
      settings: { [SECTION]: settingsFor(undefined) },
    });
  }
}

let session: ServerSession | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('tapkit');
  const current = new ServerSession(output);
  session = current;
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand('tapkit.restartServer', () => current.restart()),
    vscode.commands.registerCommand('tapkit.showOutput', () => output.show(true)),
    vscode.workspace.onDidChangeConfiguration((event) => current.configurationChanged(event)),
    vscode.workspace.onDidGrantWorkspaceTrust(() => current.restart()),
  );
  await current.start();
}

export async function deactivate(): Promise<void> {
  await session?.stop();
  session = undefined;
}
