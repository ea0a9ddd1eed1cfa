// The extension's declarative parts: package.json contributions, the settings contract with the
// server, the language configuration (checked on the real tapset library) and what the .vsix holds.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { SERVER_SETTING_KEYS } from '../src/settings';
import { EXT_ROOT, GRAMMAR_PATH } from './tokenize';

interface Property {
  type: string;
  default: unknown;
  items?: { type: string };
  enum?: string[];
}

const manifest = JSON.parse(fs.readFileSync(path.join(EXT_ROOT, 'package.json'), 'utf8')) as {
  main: string;
  contributes: {
    languages: { id: string; extensions: string[]; configuration: string }[];
    grammars: { language: string; scopeName: string; path: string; embeddedLanguages: Record<string, string> }[];
    configuration: { properties: Record<string, Property> };
  };
};
const properties = manifest.contributes.configuration.properties;
const languageConfig = JSON.parse(fs.readFileSync(path.join(EXT_ROOT, 'language-configuration.json'), 'utf8')) as {
  comments: { lineComment: string; blockComment: [string, string] };
  brackets: [string, string][];
  folding: { markers: { start: string; end: string } };
};

describe('settings contract with tapkit lsp', () => {
  const expected: Record<string, string> = {
    'tapkit.serverPath': 'string',
    'tapkit.tapsetDirs': 'array',
    'tapkit.release': 'string',
    'tapkit.kernelConfig': 'string',
    'tapkit.debuginfo': 'array',
    'tapkit.guruMode': 'boolean',
    'tapkit.trace.server': 'string',
  };

  test('package.json contributes exactly the documented tapkit.* settings, with their types', () => {
    assert.deepEqual(
      Object.fromEntries(Object.entries(properties).map(([name, prop]) => [name, prop.type])),
      expected,
    );
    assert.equal(properties['tapkit.tapsetDirs']?.items?.type, 'string');
    assert.equal(properties['tapkit.debuginfo']?.items?.type, 'string');
    assert.deepEqual(properties['tapkit.trace.server']?.enum, ['off', 'messages', 'verbose']);
    assert.equal(properties['tapkit.guruMode']?.default, false);
  });

  test('every key the server receives is a contributed setting, and the README documents every setting', () => {
    for (const key of SERVER_SETTING_KEYS) {
      assert.ok(`tapkit.${key}` in properties, `tapkit.${key} is sent to the server but not contributed`);
    }
    const readme = fs.readFileSync(path.join(EXT_ROOT, 'README.md'), 'utf8');
    for (const name of Object.keys(expected)) {
      assert.ok(readme.includes(`\`${name}\``), `README.md does not document ${name}`);
    }
  });
});

describe('language contribution', () => {
  test('.stp and .stpm map to the grammar, which embeds C under the scope VS Code maps to "c"', () => {
    const [language] = manifest.contributes.languages;
    const [grammar] = manifest.contributes.grammars;
    assert.deepEqual(language?.extensions, ['.stp', '.stpm']);
    assert.equal(grammar?.language, language?.id);
    assert.equal(path.resolve(EXT_ROOT, grammar?.path ?? ''), GRAMMAR_PATH);
    const grammarFile = JSON.parse(fs.readFileSync(GRAMMAR_PATH, 'utf8')) as { scopeName: string };
    assert.equal(grammarFile.scopeName, grammar?.scopeName);
    assert.equal(grammar?.embeddedLanguages['meta.embedded.block.c'], 'c');
    assert.ok(fs.readFileSync(GRAMMAR_PATH, 'utf8').includes('meta.embedded.block.c'));
    assert.ok(fs.existsSync(path.resolve(EXT_ROOT, language?.configuration ?? '')));
  });

  test('comment and bracket configuration matches the language', () => {
    assert.equal(languageConfig.comments.lineComment, '#');
    assert.deepEqual(languageConfig.comments.blockComment, ['/*', '*/']);
    const pairs = languageConfig.brackets.map(([open, close]) => `${open}${close}`);
    for (const pair of ['{}', '[]', '()', '%{%}', '%(%)']) {
      assert.ok(pairs.includes(pair), `bracket pair ${pair} missing`);
    }
  });

  const start = new RegExp(languageConfig.folding.markers.start);
  const end = new RegExp(languageConfig.folding.markers.end);

  test('folding markers: %( and %{ left open on a line start a region, %) and %} close it', () => {
    const starts = ['%( kernel_v >= "2.6.30" %?', 'function f:long () %{ /* pure */', '%{', '  x = @entry(%( arch != "powerpc" %? a'];
    const ends = ['%)', '  %}', '   %: int_arg(1) %))', '%) # end of arch block'];
    const neither = ['global argv_1 = %( $# >= 1 %? @1 %: "" %)', 'return & @task(%{ (unsigned long)current %})',
      'printf("%16s(%6d) (%3d%%)\\n", a, b, c)', 'x = a % (b)'];
    for (const line of starts) {
      assert.ok(start.test(line) && !end.test(line), `should start a fold: ${line}`);
    }
    for (const line of ends) {
      assert.ok(end.test(line) && !start.test(line), `should end a fold: ${line}`);
    }
    for (const line of neither) {
      assert.ok(!start.test(line) && !end.test(line), `should neither start nor end a fold: ${line}`);
    }
  });

  test('folding markers pair up in every file of the tapset library and the examples', (t) => {
    const dirs = ['/usr/share/systemtap/tapset', '/usr/share/systemtap/examples'];
    if (!dirs.every((dir) => fs.existsSync(dir))) {
      assert.ok(process.env['CI'] !== 'true', 'SystemTap tapsets/examples are missing (apt-get install systemtap)');
      t.skip('SystemTap is not installed');
      return;
    }
    const files = dirs.flatMap((dir) =>
      (fs.readdirSync(dir, { recursive: true }) as string[])
        .filter((name) => /\.stpm?$/.test(name))
        .map((name) => path.join(dir, name)),
    );
    const unbalanced: string[] = [];
    let regions = 0;
    for (const file of files) {
      let depth = 0;
      let negative = false;
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        if (start.test(line)) {
          depth++;
          regions++;
        }
        if (end.test(line)) {
          depth--;
          negative ||= depth < 0;
        }
      }
      if (depth !== 0 || negative) {
        unbalanced.push(file);
      }
    }
    assert.ok(files.length > 500 && regions > 2000, `${files.length} files, ${regions} regions`);
    assert.deepEqual(unbalanced, []);
  });
});

describe('packaging', () => {
  test('the .vsix holds the compiled client, grammar, configuration and runtime dependencies, and nothing of the tests', () => {
    const vsce = require.resolve('@vscode/vsce/vsce');
    const listing = execFileSync(process.execPath, [vsce, 'ls'], { cwd: EXT_ROOT, encoding: 'utf8' })
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
    for (const file of [
      'package.json',
      'README.md',
      'LICENSE',
      'language-configuration.json',
      'syntaxes/systemtap.tmLanguage.json',
      manifest.main.replace(/^\.\//, ''),
      'out/src/settings.js',
      'out/src/server-command.js',
      'node_modules/vscode-languageclient/package.json',
      'node_modules/vscode-languageclient/lib/node/main.js',
      'node_modules/vscode-jsonrpc/package.json',
    ]) {
      assert.ok(listing.includes(file), `${file} is not packaged`);
    }
    const leaked = listing.filter((file) =>
      /^(src\/|test\/|out\/test\/|tsconfig|node_modules\/(typescript|tm-grammars|vscode-textmate|vscode-oniguruma|@vscode\/vsce|@types)\/)|\.map$|\.ts$/.test(file),
    );
    assert.deepEqual(leaked, []);
  });
});
