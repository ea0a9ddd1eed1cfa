"""String semantics and the string tapset functions whose bodies are embedded C."""

from __future__ import annotations

import random

import pytest

from tapkit.runtime import strings as S
from tapkit.runtime.errors import StapError
from tests.runtime.c_oracle import COracle


def test_maxstringlen_truncation() -> None:
    assert S.cstr("x" * 600) == "x" * 511
    assert S.cstr("x" * 511) == "x" * 511
    assert S.concat("a" * 300, "b" * 300) == "a" * 300 + "b" * 211
    assert S.concat("ab", "cd") == "abcd"


def test_bytes_round_trip() -> None:
    s = S.from_text("é")  # two UTF-8 bytes
    assert S.strlen(s) == 2
    assert S.to_bytes(s) == "é".encode()
    assert S.from_bytes(b"\xff\x00") == "\xff\x00"


@pytest.mark.parametrize(("source", "value"), [
    (r"a\nb", "a\nb"),
    (r"tab\there", "tab\there"),
    (r"\\", "\\"),
    (r"\"q\"", '"q"'),
    (r"\101\102", "AB"),  # octal, read by the C compiler
    (r"\1012", "A2"),  # at most three octal digits
    (r"\x41", "A"),  # kept for the C compiler, which reads the hex digits
    (r"\q\e", "qe"),  # the lexer drops the backslash of escapes it does not know
    (r"a\0b", "a"),  # a NUL ends the C string
    ("é", "\xc3\xa9"),
])
def test_decode_script_string(source: str, value: str) -> None:
    assert S.decode_script_string(source) == value


def test_decode_script_string_rejects_what_gcc_rejects() -> None:
    with pytest.raises(ValueError, match="no following hex digits"):
        S.decode_script_string(r"\xg")
    with pytest.raises(ValueError, match="out of range"):
        S.decode_script_string(r"\x41b")


def test_strlen_substr() -> None:
    assert S.strlen("hello") == 5
    assert S.substr("hello", 1, 3) == "ell"
    assert S.substr("hello", 3, 100) == "lo"
    assert S.substr("hello", 5, 1) == ""  # start must be inside the string
    assert S.substr("hello", -1, 2) == ""
    assert S.substr("hello", 0, 0) == ""
    assert S.substr("hello", 0, -5) == ""
    assert S.substr("hello", 0, (1 << 63) - 1) == ""  # length + 1 wraps negative and clamps to 0
    assert S.substr("x" * 511, 0, 600) == "x" * 511


def test_stringat() -> None:
    assert S.stringat("abc", 1) == ord("b")
    assert S.stringat("\xe9", 0) == -23  # x86 char is signed
    with pytest.raises(StapError) as err:
        S.stringat("abc", 3, "identifier 'stringat' at /usr/share/systemtap/tapset/string.stp:51:10")
    assert err.value.text == ("Position out of bounds near identifier 'stringat' at "
                              "/usr/share/systemtap/tapset/string.stp:51:10")
    with pytest.raises(StapError, match=r"^Position out of bounds$"):
        S.stringat("abc", -1)


def test_search_functions() -> None:
    assert S.isinstr("hello", "ll") == 1 and S.isinstr("hello", "x") == 0 and S.isinstr("a", "") == 1
    assert S.strpos("hello", "l") == 2 and S.strpos("hello", "z") == -1
    assert S.isdigit("7a") == 1 and S.isdigit("a7") == 0 and S.isdigit("") == 0


def test_str_replace() -> None:
    assert S.str_replace("a-b-c", "-", "::") == "a::b::c"
    assert S.str_replace("aaa", "aa", "b") == "ba"
    assert S.str_replace("abc", "", "x") == "abc"
    assert S.str_replace("a" * 300, "a", "bb") == "b" * 511


@pytest.mark.parametrize(("text", "base", "value"), [
    ("123", 10, 123),
    ("-123", 10, -123),
    ("0x1f", 16, 31),
    ("1f", 16, 31),
    ("0x1f", 0, 31),
    ("017", 0, 15),
    ("0", 0, 0),
    ("0x", 0, 0),  # "0x" needs a hex digit after it to count as a prefix: octal "0"
    ("12abc", 10, 12),
    (" 12", 10, 0),  # simple_strtol skips no whitespace
    ("+12", 10, 0),
    ("--5", 10, 0),
    ("18446744073709551615", 10, -1),  # wraps
    ("18446744073709551617", 10, 1),
    ("777", 8, 511),
    ("z", 36, 0),  # the kernel parser knows digits up to f only
    ("ff", 16, 255),
])
def test_strtol(text: str, base: int, value: int) -> None:
    assert S.strtol(text, base) == value


def test_tokenize_keeps_state_between_calls() -> None:
    state = S.TokenizeState()
    assert S.tokenize(state, "", ",") == ""  # nothing given yet
    assert S.tokenize(state, "a,,b, c", ",") == "a"
    assert S.tokenize(state, "", ",") == "b"  # empty tokens are skipped
    assert S.tokenize(state, "", ",") == " c"
    assert S.tokenize(state, "", ",") == ""
    assert S.tokenize(state, "x y", "") == "x y"  # no delimiters: the whole rest
    assert S.tokenize(state, "1;2,3", ";,") == "1"
    assert S.tokenize(state, "", ";,") == "2"


def test_string_quoted_examples() -> None:
    assert S.string_quoted('a"b\n\x01') == '"a\\"b\\n\\001"'
    assert S.string_quoted("\xc3\xa9") == '"\\u00E9"'  # UTF-8 becomes \\u escapes
    assert S.string_quoted("\xf0\x9f\x98\x80") == '"\\U0001F600"'
    assert S.string_quoted("\xc0\x80") == '"\\300\\200"'  # overlong UTF-8 passes through as bytes
    assert S.text_str("a\tb") == "a\\tb"
    assert S.text_strn("abcdef", 4, 0) == "abcd"
    long = S.string_quoted("x" * 511)
    assert long == '"' + "x" * 506 + '"...'  # 509 columns inside the quotes, cut 3 back for the ...


def test_text_functions_match_stp_string_c(c_oracle: COracle) -> None:
    """_stp_text_str from the installed stp_string.c on random byte strings and limits."""
    rng = random.Random(3)
    alphabet = [chr(c) for c in range(1, 256)] + ["\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", '"', "\\"] * 10
    for _ in range(1500):
        n = rng.choice([0, 1, 5, 50, 200, 511, rng.randint(0, 511)])
        text = "".join(rng.choice(alphabet) for _ in range(n))[:511]
        inlen = rng.choice([0, 0, 5, 100, 511, 512])
        outlen = rng.choice([0, 0, 3, 5, 6, 7, 10, 100, 511, 512])
        quoted = rng.random() < 0.5
        expected = c_oracle.text_str(text, inlen, outlen, quoted)
        ours = S.text_str_from(lambda i, t=text: ord(t[i]) if i < len(t) else 0, inlen, outlen, quoted)
        assert ours == expected, (text, inlen, outlen, quoted)
