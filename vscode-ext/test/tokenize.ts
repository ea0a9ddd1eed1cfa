// Tokenizes SystemTap text with our grammar the way VS Code does: vscode-textmate on the oniguruma
// WebAssembly build, with VS Code's own C grammar (shipped by tm-grammars) behind `%{ … %}`.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as oniguruma from 'vscode-oniguruma';
import * as vsctm from 'vscode-textmate';

/** vscode-ext/, from out/test/ where the compiled tests run. */
export const EXT_ROOT = path.resolve(__dirname, '..', '..');
export const GRAMMAR_PATH = path.join(EXT_ROOT, 'syntaxes', 'systemtap.tmLanguage.json');

const GRAMMAR_FILES: Readonly<Record<string, string>> = {
  'source.systemtap': GRAMMAR_PATH,
  'source.c': require.resolve('tm-grammars/grammars/c.json'),
};

export interface Token {
  /** 0-based line. */
  line: number;
  start: number;
  end: number;
  text: string;
  scopes: readonly string[];
}

export interface Tokenized {
  text: string;
  lines: readonly string[];
  tokens: readonly Token[];
  /** Rule stack after the last line: equal to `rootStack` when every region was closed. */
  endStack: vsctm.StateStack;
  rootStack: vsctm.StateStack;
}

let grammarPromise: Promise<vsctm.IGrammar> | undefined;

async function loadGrammarOnce(): Promise<vsctm.IGrammar> {
  const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text: string) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async (scopeName: string) => {
      const file = GRAMMAR_FILES[scopeName];
      if (file === undefined) {
        return null;
      }
      return vsctm.parseRawGrammar(fs.readFileSync(file, 'utf8'), file);
    },
  });
  const grammar = await registry.loadGrammar('source.systemtap');
  if (grammar === null) {
    throw new Error(`cannot load ${GRAMMAR_PATH}`);
  }
  return grammar;
}

export function loadGrammar(): Promise<vsctm.IGrammar> {
  grammarPromise ??= loadGrammarOnce();
  return grammarPromise;
}

export function tokenizeWith(grammar: vsctm.IGrammar, text: string): Tokenized {
  const lines = text.split(/\r?\n/);
  const rootStack = grammar.tokenizeLine('', vsctm.INITIAL).ruleStack;
  const tokens: Token[] = [];
  let stack = vsctm.INITIAL;
  lines.forEach((lineText, line) => {
    const result = grammar.tokenizeLine(lineText, stack);
    for (const token of result.tokens) {
      const end = Math.min(token.endIndex, lineText.length);
      if (end > token.startIndex) {
        tokens.push({ line, start: token.startIndex, end, text: lineText.slice(token.startIndex, end), scopes: token.scopes });
      }
    }
    stack = result.ruleStack;
  });
  return { text, lines, tokens, endStack: stack, rootStack };
}

export async function tokenize(text: string): Promise<Tokenized> {
  return tokenizeWith(await loadGrammar(), text);
}

/** True when `scopes` holds `wanted` itself or a more specific scope (wanted + "."), as themes match. */
export function hasScope(scopes: readonly string[], wanted: string): boolean {
  return scopes.some((scope) => scope.split(' ').some((one) => one === wanted || one.startsWith(`${wanted}.`)));
}

const WORD = /[A-Za-z0-9_]/;

/** A needle that starts (ends) with a word character only matches where a word starts (ends): "a" is not in "arch". */
function wholeAt(lineText: string, from: number, needle: string): boolean {
  const before = lineText[from - 1] ?? ' ';
  const after = lineText[from + needle.length] ?? ' ';
  return !(WORD.test(needle[0] ?? '') && WORD.test(before)) && !(WORD.test(needle.at(-1) ?? '') && WORD.test(after));
}

/** The tokens that cover the `nth` occurrence (0-based) of `needle` on one line of the source. */
export function tokensAt(doc: Tokenized, needle: string, nth = 0): Token[] {
  let seen = 0;
  for (let line = 0; line < doc.lines.length; line++) {
    const lineText = doc.lines[line] ?? '';
    let from = lineText.indexOf(needle);
    while (from !== -1) {
      if (!wholeAt(lineText, from, needle)) {
        from = lineText.indexOf(needle, from + 1);
        continue;
      }
      if (seen === nth) {
        const to = from + needle.length;
        return doc.tokens.filter((t) => t.line === line && t.end > from && t.start < to);
      }
      seen++;
      from = lineText.indexOf(needle, from + 1);
    }
  }
  throw new Error(`${JSON.stringify(needle)} (occurrence ${nth}) is not in the sample`);
}

function describe(tokens: readonly Token[]): string {
  return tokens.map((t) => `${JSON.stringify(t.text)} ${t.scopes.join(' ')}`).join('\n  ');
}

/** Every token of the `nth` `needle` has `scope` (or a more specific one). */
export function assertScope(doc: Tokenized, needle: string, scope: string, nth = 0): void {
  const tokens = tokensAt(doc, needle, nth);
  assert.ok(
    tokens.length > 0 && tokens.every((t) => hasScope(t.scopes, scope)),
    `${JSON.stringify(needle)} should be ${scope}; got\n  ${describe(tokens)}`,
  );
}

/** No token of the `nth` `needle` has `scope`. */
export function assertNotScope(doc: Tokenized, needle: string, scope: string, nth = 0): void {
  const tokens = tokensAt(doc, needle, nth);
  assert.ok(
    tokens.every((t) => !hasScope(t.scopes, scope)),
    `${JSON.stringify(needle)} should not be ${scope}; got\n  ${describe(tokens)}`,
  );
}

/** The `nth` `needle` is exactly one token (not split, not merged with its neighbours) with `scope`. */
export function assertToken(doc: Tokenized, needle: string, scope: string, nth = 0): void {
  const tokens = tokensAt(doc, needle, nth);
  const first = tokens[0];
  assert.ok(
    tokens.length === 1 && first !== undefined && first.text === needle && hasScope(first.scopes, scope),
    `${JSON.stringify(needle)} should be one ${scope} token; got\n  ${describe(tokens)}`,
  );
}
