// Scopes of specific tokens, on our own samples: each test names the construct it pins down.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { assertNotScope, assertScope, assertToken, EXT_ROOT, hasScope, tokenize, tokensAt } from './tokenize';

const FEATURES = path.join(EXT_ROOT, 'test', 'fixtures', 'features.stp');

describe('comments', () => {
  test('#, // and /* */ are comments, a block comment spans lines', async () => {
    const doc = await tokenize('x = 1 # hash\ny = 2 // slashes\n/* one\n probe two */ z = 3');
    assertScope(doc, '# hash', 'comment.line.number-sign');
    assertScope(doc, '// slashes', 'comment.line.double-slash');
    assertScope(doc, '/* one', 'comment.block');
    assertScope(doc, ' probe two */', 'comment.block');
    assertNotScope(doc, 'z', 'comment');
    assertScope(doc, 'z', 'variable.other');
  });

  test('$# and @# are script arguments, not the start of a comment', async () => {
    const doc = await tokenize('n = $# + @# # count');
    assertToken(doc, '$#', 'variable.language.script-argument');
    assertToken(doc, '@#', 'variable.language.script-argument');
    assertNotScope(doc, '+', 'comment');
    assertScope(doc, '# count', 'comment.line.number-sign');
  });

  test('// and # inside a string are not comments', async () => {
    const doc = await tokenize('url = "http://host/#frag"; probe begin { }');
    assertScope(doc, '"http://host/#frag"', 'string.quoted.double');
    assertNotScope(doc, '//host/#frag', 'comment');
    assertScope(doc, 'probe', 'keyword.declaration.probe');
  });
});

describe('strings', () => {
  test('"a\\"b" is one string with an escape inside', async () => {
    const doc = await tokenize('s = "a\\"b" . "c"');
    assertScope(doc, '"a\\"b"', 'string.quoted.double');
    assertToken(doc, '\\"', 'constant.character.escape');
    assertToken(doc, '.', 'keyword.operator.concatenation');
    assertScope(doc, '"c"', 'string.quoted.double');
  });

  test('octal, hex and one-character escapes; printf conversions', async () => {
    const doc = await tokenize('printf("%-10s|%5d|%#llx|%%|%.*s\\n\\033[0m\\x41", a, b, c, d, e)');
    for (const escape of ['\\n', '\\033', '\\x41']) {
      assertToken(doc, escape, 'constant.character.escape');
    }
    for (const conversion of ['%-10s', '%5d', '%#llx', '%%', '%.*s']) {
      assertToken(doc, conversion, 'constant.other.placeholder');
    }
    assertToken(doc, 'printf', 'support.function.builtin.print');
  });

  test('a string does not run past the end of its line (stap rejects that)', async () => {
    const doc = await tokenize('s = "unterminated\nprobe begin { }');
    assertScope(doc, 'probe', 'keyword.declaration.probe');
    assertNotScope(doc, 'probe', 'string');
  });
});

describe('numbers', () => {
  test('hex, octal and decimal literals; 09 and 1e3 are not numbers in stap', async () => {
    const doc = await tokenize('a = 0x1f + 0XFF + 017 + 0 + 42 - 09 - 1e3');
    assertToken(doc, '0x1f', 'constant.numeric.hex');
    assertToken(doc, '0XFF', 'constant.numeric.hex');
    assertToken(doc, '017', 'constant.numeric.octal');
    assertToken(doc, '0', 'constant.numeric.decimal');
    assertToken(doc, '42', 'constant.numeric.decimal');
    assertToken(doc, '09', 'invalid.illegal.numeric');
    assertToken(doc, '1e3', 'invalid.illegal.numeric');
  });

  test('digits inside identifiers and script arguments are not numbers', async () => {
    const doc = await tokenize('x1 = $1 + @2 + arg2');
    assertToken(doc, 'x1', 'variable.other');
    assertToken(doc, '$1', 'variable.language.script-argument');
    assertToken(doc, '@2', 'variable.language.script-argument');
    assertToken(doc, 'arg2', 'variable.other');
  });
});

describe('keywords and declarations', () => {
  test('every statement keyword', async () => {
    const words = ['if', 'else', 'for', 'foreach', 'while', 'in', 'limit', 'next', 'break', 'continue', 'return',
      'delete', 'try', 'catch'];
    const doc = await tokenize(words.join(' ; '));
    for (const word of words) {
      assertToken(doc, word, `keyword.control.${word}`);
    }
  });

  test('probe, function, global, private are keywords; a keyword inside a name is not', async () => {
    const doc = await tokenize('private global probes_seen\nprivate function returned:long () { return 1 }');
    assertToken(doc, 'private', 'storage.modifier.private');
    assertToken(doc, 'global', 'keyword.declaration.global');
    assertToken(doc, 'probes_seen', 'variable.other.global');
    assertToken(doc, 'function', 'keyword.declaration.function');
    assertToken(doc, 'returned', 'entity.name.function');
    assertToken(doc, 'return', 'keyword.control.return');
  });

  test('function definition: name, return type, typed parameters; calls', async () => {
    const doc = await tokenize('function avg:long (total:long, who:string) { return total / count(who) }');
    assertToken(doc, 'avg', 'entity.name.function');
    assertToken(doc, 'long', 'storage.type.long');
    assertToken(doc, 'total', 'variable.parameter');
    assertToken(doc, 'long', 'storage.type.long', 1);
    assertToken(doc, 'who', 'variable.parameter');
    assertToken(doc, 'string', 'storage.type.string');
    assertToken(doc, 'count', 'entity.name.function.call');
    assertToken(doc, 'total', 'variable.other', 1);
  });

  test('global declarations: arrays, sizes, wrap-around %, initial values', async () => {
    const doc = await tokenize('global opened%[1000], names[64], mode = 017');
    assertToken(doc, 'opened', 'variable.other.global');
    assertToken(doc, '%', 'keyword.operator.wrap');
    assertToken(doc, '1000', 'constant.numeric.decimal');
    assertToken(doc, 'names', 'variable.other.global');
    assertToken(doc, '017', 'constant.numeric.octal');
  });
});

describe('probe points', () => {
  test('components, dotted, with string and numeric arguments, wildcards, ? and !', async () => {
    const doc = await tokenize(
      'probe kernel.function("vfs_*@fs/read_write.c:40").return ?, module("openafs").function("afs_Get*") !, ' +
        'timer.ms(100), begin(-1000), syscall.* { }',
    );
    assertToken(doc, 'probe', 'keyword.declaration.probe');
    for (const component of ['kernel', 'function', 'return', 'module', 'timer', 'ms', 'begin', 'syscall']) {
      assertToken(doc, component, 'support.type.probe-point');
    }
    assertToken(doc, '*', 'keyword.operator.wildcard');
    assertToken(doc, '@', 'punctuation.separator.probe-point');
    assertScope(doc, '"vfs_', 'string.quoted.double.probe-point');
    assertToken(doc, '?', 'keyword.operator.optional.probe');
    assertToken(doc, '!', 'keyword.operator.sufficient.probe');
    assertToken(doc, '100', 'constant.numeric.decimal');
    assertToken(doc, '*', 'keyword.operator.wildcard', 2);
    assertToken(doc, '{', 'punctuation.section.block.begin');
    assertNotScope(doc, '{', 'meta.probe.header');
  });

  test('an alias definition names the alias; the body is ordinary code again', async () => {
    const doc = await tokenize('probe vfs.ops = vfs.{write,read} if (mode != 0) { mode = 0 }');
    assertToken(doc, 'vfs', 'entity.name.function.probe-alias');
    assertToken(doc, 'ops', 'entity.name.function.probe-alias');
    assertToken(doc, '=', 'keyword.operator.assignment.alias');
    assertToken(doc, 'write', 'support.type.probe-point');
    assertToken(doc, 'read', 'support.type.probe-point');
    assertToken(doc, 'if', 'keyword.control.if');
    assertToken(doc, 'mode', 'variable.other');
    assertScope(doc, 'mode', 'meta.probe.condition');
    assertToken(doc, 'mode', 'variable.other', 1);
    assertNotScope(doc, 'mode', 'meta.probe.header', 1);
  });

  test('brace expansion before the first component and a body on the next line', async () => {
    const doc = await tokenize('probe {kernel,module("nfs")}.function("nfs*")!,\n  syscall.{open,close}\n{\n  hits++\n}');
    assertToken(doc, '{', 'punctuation.section.braces.expansion.begin');
    assertToken(doc, 'kernel', 'support.type.probe-point');
    assertToken(doc, 'close', 'support.type.probe-point');
    assertToken(doc, '{', 'punctuation.section.block.begin', 2);
    assertToken(doc, 'hits', 'variable.other');
  });

  test('a header still being typed stops at the next declaration instead of swallowing it', async () => {
    const doc = await tokenize('probe kernel.function("vfs_read")\nfunction half:long (n:long) { return n / 2 }');
    assertToken(doc, 'function', 'keyword.declaration.function', 1);
    assertToken(doc, 'half', 'entity.name.function');
    assertNotScope(doc, 'half', 'meta.probe.header');
  });

  test('a preprocessor conditional inside the probe point', async () => {
    const doc = await tokenize('probe kernel.function(%( kernel_v <= "2.6.12" %? "do_fault" %: "handle_mm_fault" %)) { }');
    assertToken(doc, '%(', 'keyword.control.directive.conditional');
    assertToken(doc, 'kernel_v', 'variable.language.preprocessor');
    assertToken(doc, '%)', 'keyword.control.directive.conditional');
    assertScope(doc, '"handle_mm_fault"', 'string.quoted.double');
    assertToken(doc, '{', 'punctuation.section.block.begin');
    assertToken(doc, '}', 'punctuation.section.block.end');
  });
});

describe('target variables and @ operators', () => {
  test('$var, $$vars/$$parms, pretty-print suffixes and member chains', async () => {
    const doc = await tokenize('s = $$vars . $$parms$ . $file->f_path->dentry$$ . $count');
    assertToken(doc, '$$vars', 'variable.language.target.context');
    assertScope(doc, '$$parms$', 'variable.language.target.context');
    assertToken(doc, 'file', 'variable.other.target');
    assertToken(doc, '->', 'punctuation.accessor.arrow');
    assertToken(doc, 'f_path', 'variable.other.member');
    assertToken(doc, 'dentry', 'variable.other.member');
    assertToken(doc, '$$', 'keyword.operator.pretty-print', 2);
    assertToken(doc, 'count', 'variable.other.target');
  });

  test('@cast, @var, @entry, @defined, @probewrite, @const and the statistics extractors', async () => {
    const ops = ['cast', 'var', 'entry', 'defined', 'probewrite', 'const', 'perf', 'kregister', 'uregister'];
    const stats = ['count', 'sum', 'min', 'max', 'avg', 'variance', 'hist_linear', 'hist_log'];
    const doc = await tokenize([...ops, ...stats].map((op) => `@${op}(x)`).join(' + '));
    for (const op of ops) {
      assertScope(doc, `@${op}`, `support.function.builtin.target.${op}`);
    }
    for (const op of stats) {
      assertScope(doc, `@${op}`, `support.function.builtin.statistics.${op}`);
    }
  });

  test('members after @cast(...)->', async () => {
    const doc = await tokenize('fid = @cast($adc, "dcache", "kernel:openafs")->f->fid->Fid->Unique');
    assertScope(doc, '@cast', 'support.function.builtin.target.cast');
    assertToken(doc, 'adc', 'variable.other.target');
    assertScope(doc, '"dcache"', 'string.quoted.double');
    assertToken(doc, 'fid', 'variable.other', 0);
    assertToken(doc, 'fid', 'variable.other.member', 1);
    for (const member of ['f', 'Fid', 'Unique']) {
      assertToken(doc, member, 'variable.other.member');
    }
  });

  test('user macros: definition with parameters, body delimiters, invocation', async () => {
    const doc = await tokenize('@define KB(x) %( ((@x) * 1024) %)\nsize = @KB(4)');
    assertToken(doc, '@define', 'keyword.control.directive.define');
    assertToken(doc, 'KB', 'entity.name.function.preprocessor');
    assertToken(doc, 'x', 'variable.parameter.macro');
    assertToken(doc, '%(', 'keyword.control.directive.macro-body');
    assertToken(doc, '%)', 'keyword.control.directive.conditional');
    assertToken(doc, '@KB', 'entity.name.function.preprocessor');
  });
});

describe('preprocessor conditionals', () => {
  test('%( condition %? then %: else %) with kernel_v, arch and CONFIG_ names', async () => {
    const doc = await tokenize(
      '%( kernel_v >= "2.6.30" && CONFIG_UTRACE == "y" || arch == "x86_64" %?\nprobe a {}\n%:\nprobe b {}\n%)',
    );
    assertToken(doc, '%(', 'keyword.control.directive.conditional');
    assertToken(doc, 'kernel_v', 'variable.language.preprocessor');
    assertToken(doc, 'CONFIG_UTRACE', 'variable.language.preprocessor');
    assertToken(doc, 'arch', 'variable.language.preprocessor');
    assertToken(doc, '%?', 'keyword.control.directive.conditional');
    assertToken(doc, '%:', 'keyword.control.directive.conditional');
    assertToken(doc, '%)', 'keyword.control.directive.conditional');
    assertToken(doc, 'a', 'support.type.probe-point');
    assertToken(doc, 'b', 'support.type.probe-point');
  });

  test('condition names are ordinary variables outside a condition', async () => {
    const doc = await tokenize('arch = runtime + 1');
    assertToken(doc, 'arch', 'variable.other');
    assertToken(doc, 'runtime', 'variable.other');
  });
});

describe('embedded C', () => {
  test('%{ ... %} content is C, pragmas and STAP_ macros are marked, SystemTap resumes after %}', async () => {
    const doc = await tokenize(
      'function now:long () %{ /* pure */ /* unprivileged */\n  int shift = 1; // C comment\n' +
        '  STAP_RETVALUE = STAP_ARG_x << shift;\n%}\nprobe begin { }',
    );
    assertToken(doc, '%{', 'punctuation.section.embedded.begin');
    assertToken(doc, 'pure', 'keyword.other.pragma');
    assertToken(doc, 'unprivileged', 'keyword.other.pragma');
    assertToken(doc, 'int', 'storage.type.built-in');
    assertScope(doc, 'int', 'meta.embedded.block.c');
    assertScope(doc, 'shift', 'source.c');
    assertScope(doc, '// C comment', 'comment.line.double-slash.c');
    assertToken(doc, 'STAP_RETVALUE', 'variable.language.c-interface');
    assertToken(doc, 'STAP_ARG_x', 'variable.language.c-interface');
    assertToken(doc, '%}', 'punctuation.section.embedded.end');
    assertToken(doc, 'probe', 'keyword.declaration.probe');
    assertNotScope(doc, 'probe', 'source.c');
  });

  test('a one-line embedded C expression inside SystemTap code', async () => {
    const doc = await tokenize('x = %{ (unsigned long)current %} + 1');
    assertToken(doc, 'unsigned', 'storage.type.built-in');
    assertToken(doc, '+', 'keyword.operator.arithmetic');
    assertNotScope(doc, '+', 'source.c');
  });
});

describe('operators', () => {
  test('<<<, .=, =~, !~, >>>, ->, ternary', async () => {
    const doc = await tokenize('s <<< 1; t .= "x"; m = t =~ "^a" || t !~ "b"; v = a >>> 2 ? b : c; w = p->q');
    assertToken(doc, '<<<', 'keyword.operator.aggregate');
    assertToken(doc, '.=', 'keyword.operator.assignment.string');
    assertToken(doc, '=~', 'keyword.operator.regex-match');
    assertToken(doc, '!~', 'keyword.operator.regex-match');
    assertToken(doc, '>>>', 'keyword.operator.bitwise.shift');
    assertToken(doc, '?', 'keyword.operator.ternary');
    assertToken(doc, ':', 'keyword.operator.ternary');
    assertToken(doc, '->', 'punctuation.accessor.arrow');
  });
});

test('the features sample is valid SystemTap: stap -g -p1 parses it', (t) => {
  const releases = fs.existsSync('/lib/modules') ? fs.readdirSync('/lib/modules').filter((r) => r.endsWith('-amd64')) : [];
  const release = releases.sort().at(-1);
  const stap = spawnSync('stap', ['-g', '-p1', ...(release !== undefined ? ['-r', release] : []), FEATURES, '5', 'foo'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (stap.error !== undefined) {
    assert.ok(process.env['CI'] !== 'true', `stap is not installed: ${stap.error.message}`);
    t.skip('stap is not installed');
    return;
  }
  assert.equal(stap.status, 0, stap.stderr);
});

test('the features sample closes every region and has no invalid token', async () => {
  const doc = await tokenize(fs.readFileSync(FEATURES, 'utf8'));
  assert.ok(doc.endStack.equals(doc.rootStack), 'a region is still open at the end of features.stp');
  const invalid = doc.tokens.filter((t) => t.scopes.some((scope) => scope.startsWith('invalid.')));
  assert.deepEqual(invalid, []);
  // Spot checks on the sample's busiest line: a probe list with a conditional and optional points.
  assert.ok(hasScope(tokensAt(doc, 'afs_*')[0]?.scopes ?? [], 'string.quoted.double.probe-point'));
  assertToken(doc, 'Unique', 'variable.other.member');
});
