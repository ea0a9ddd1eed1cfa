// The grammar against SystemTap code written by others: Debian's tapset library and example scripts.
// Real code is valid stap, so every region must close by the end of each file, no token may be
// marked invalid, and every `%{ … %}` must hand its content to the C grammar and take it back.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { hasScope, loadGrammar, type Tokenized, tokenizeWith } from './tokenize';

const SYSTEMTAP_SHARE = '/usr/share/systemtap';
const CORPORA = ['tapset', 'examples'].map((dir) => path.join(SYSTEMTAP_SHARE, dir));

function scriptsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      out.push(...scriptsUnder(full));
    } else if (entry.isFile() && /\.stpm?$/.test(entry.name)) {
      out.push(full);
    }
  }
  return out.sort();
}

/** In CI a missing SystemTap fails the run; elsewhere the corpus tests are skipped. */
function corpusOrSkip(): string[] | string {
  const missing = CORPORA.filter((dir) => !fs.existsSync(dir));
  if (missing.length === 0) {
    return CORPORA.flatMap(scriptsUnder);
  }
  const why = `SystemTap's tapsets/examples are not installed (${missing.join(', ')}); apt-get install systemtap`;
  if (process.env['CI'] === 'true') {
    assert.fail(why);
  }
  return why;
}

interface Finding {
  file: string;
  what: string;
}

function check(file: string, doc: Tokenized, findings: Finding[]): void {
  if (!doc.endStack.equals(doc.rootStack)) {
    findings.push({ file, what: 'a region is still open at the end of the file' });
  }
  for (const token of doc.tokens) {
    if (token.scopes.some((scope) => scope.startsWith('invalid.'))) {
      findings.push({ file, what: `line ${token.line + 1}: invalid token ${JSON.stringify(token.text)} ${token.scopes.join(' ')}` });
    }
  }
  // Each "%}" that opens no C of its own closes embedded C: the token after it is SystemTap again.
  doc.lines.forEach((lineText, line) => {
    const trimmed = lineText.trim();
    if (trimmed === '%}') {
      const closer = doc.tokens.find((t) => t.line === line && t.text === '%}');
      if (closer === undefined || !hasScope(closer.scopes, 'punctuation.section.embedded.end')) {
        findings.push({ file, what: `line ${line + 1}: "%}" does not close embedded C: ${closer?.scopes.join(' ') ?? 'no token'}` });
      }
    }
  });
}

test('the tapset library and the examples tokenize with every region closed and no invalid token', async (t) => {
  const files = corpusOrSkip();
  if (typeof files === 'string') {
    t.skip(files);
    return;
  }
  assert.ok(files.length > 500, `expected the ~800 tapset and example scripts, found ${files.length}`);
  const grammar = await loadGrammar();
  const findings: Finding[] = [];
  let lines = 0;
  let embeddedC = 0;
  let probeHeaders = 0;
  const started = process.hrtime.bigint();
  for (const file of files) {
    const doc = tokenizeWith(grammar, fs.readFileSync(file, 'utf8'));
    lines += doc.lines.length;
    embeddedC += doc.tokens.filter((tok) => tok.text === 'int' && hasScope(tok.scopes, 'storage.type.built-in')).length;
    probeHeaders += doc.tokens.filter((tok) => hasScope(tok.scopes, 'keyword.declaration.probe')).length;
    check(path.relative(SYSTEMTAP_SHARE, file), doc, findings);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  t.diagnostic(`${files.length} files, ${lines} lines in ${seconds.toFixed(1)} s`);
  assert.deepEqual(findings.slice(0, 25), [], `${findings.length} problems`);
  // The corpus is known to hold embedded C with C declarations and thousands of probes.
  assert.ok(embeddedC > 50, `C types inside %{ %} seen ${embeddedC} times`);
  assert.ok(probeHeaders > 3000, `probe declarations seen ${probeHeaders} times`);
});
