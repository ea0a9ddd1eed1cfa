"""Where Debian's `stap --runtime=bpf` (stapbpf) prints something else than the conformance suite expects.

The suite's expectations follow the kernel runtime's documented behaviour (man stap, the tapset
reference, the runtime's C sources); stapbpf is a second implementation that runs here. Every case
it runs and gets wrong is listed below with a judgement:

  BUG          stapbpf contradicts stap's documentation or the kernel runtime's semantics
  UNSPECIFIED  the documentation does not fix the answer (iteration order of an unsorted foreach,
               the order of equal keys in a sort); stapbpf's hash maps simply differ

test_stapbpf_conformance.py fails when a listed case starts to agree (stale entry) or an unlisted
one disagrees, so this list is exactly the set of differences observed.
"""

from __future__ import annotations

BUG, UNSPECIFIED = "bug", "unspecified"

_DIV = "/ and % are not C's truncating division (and INT64_MIN / -1, x % -1 go wrong)"
_DIV0 = "division by zero hangs stapbpf instead of reporting 'division by 0'"
_WIDE = "%d %u %x %o see only the low 32 bits of a long"
_ERRSTREAM = "error() messages go to stdout, in ANSI colours, instead of stderr"
_DISPLAY = "globals written but never read are not displayed at shutdown (man stap: 'displayed automatically')"
_ARGS = "printf/println arguments are read after all of them are evaluated, not each in turn"
_HASH = "unsorted foreach walks BPF hash order; stap documents no order for it"

DIFFERENCES: dict[str, tuple[str, str]] = {
    "arith/array_increment_wraps": (BUG, "++ on an array element holding INT64_MAX crashes stapbpf (SIGSEGV)"),
    "arith/compound_assignments_in_order": (BUG, _ARGS),
    "arith/div_assign_by_zero_names_the_divisor": (BUG, _DIV0),
    "arith/div_by_zero_error": (BUG, _DIV0),
    "arith/div_truncates_toward_zero": (BUG, _DIV),
    "arith/increments_and_decrements": (BUG, _ARGS),
    "arith/int64_min_div_minus_one": (BUG, _DIV),
    "arith/int64_min_div_two": (BUG, _DIV),
    "arith/int64_min_mod_minus_one": (BUG, _DIV),
    "arith/literals_beyond_int64_wrap": (BUG, "the literal 0x8000000000000000 becomes -4294967296"),
    "arith/mixed_arithmetic_expression": (BUG, _DIV),
    "arith/mod_assign_by_zero_in_array": (BUG, _DIV0),
    "arith/mod_by_one": (BUG, _DIV),
    "arith/mod_by_zero_error": (BUG, _DIV0),
    "arith/mod_takes_dividend_sign": (BUG, _DIV),
    "arith/output_before_error_is_kept": (BUG, _DIV0),
    "arith/string_comparisons": (BUG, "string < > <= >= compare wrongly (only equality of equal strings works)"),
    "arith/unary_minus_of_int64_min": (BUG, _WIDE),
    "arrays/array_overflow_declared_size": (BUG, "a full array hangs stapbpf instead of 'Array overflow'"),
    "arrays/array_overflow_default_limit": (BUG, "a full array hangs stapbpf instead of 'Array overflow'"),
    "arrays/foreach_limit": (UNSPECIFIED, _HASH),
    "arrays/foreach_limit_zero_and_negative": (BUG, "`limit 0` and negative limits do not stop the loop"),
    "arrays/foreach_readded_key_goes_last": (UNSPECIFIED, _HASH),
    "arrays/foreach_unsorted_is_insertion_order": (UNSPECIFIED, _HASH),
    "arrays/foreach_value_form": (UNSPECIFIED, _HASH),
    "arrays/negative_and_large_keys": (BUG, "INT64_MIN and INT64_MAX keys are lost or truncated to 32 bits"),
    "arrays/sort_is_stable_for_equal_values": (UNSPECIFIED, "equal values sort in another order (stability is "
                                                            "the kernel runtime's merge sort, not documented)"),
    "arrays/sorted_foreach_reorders_later_unsorted_foreach": (UNSPECIFIED, _HASH),
    "arrays/wrapping_array_evicts_oldest": (BUG, "a %[3] array keeps its first elements instead of the newest"),
    "context/assert_tapset_function": (BUG, _ERRSTREAM),
    "control/error_function_message": (BUG, _ERRSTREAM),
    "control/error_in_end_probe": (BUG, _ERRSTREAM),
    "control/error_probe_runs_after_an_error": (BUG, _ERRSTREAM),
    "control/exit_stops_later_begin_probes": (BUG, "begin probes after exit() still run (man 3stap exit: new "
                                                   "probes do not fire)"),
    "control/maxaction_is_not_catchable": (BUG, "no MAXACTION: an endless loop hangs stapbpf"),
    "control/maxaction_stops_an_infinite_loop": (BUG, "no MAXACTION: an endless loop hangs stapbpf"),
    "control/next_leaves_the_probe": (BUG, "`next` in a begin probe hangs stapbpf"),
    "control/probe_condition": (BUG, "a probe condition on a global hangs stapbpf"),
    "control/ternary_with_side_effects": (BUG, "both arms of ?: are evaluated"),
    "control/try_catch_in_function": (BUG, _DIV0),
    "control/warn_prints_a_warning": (BUG, "warn() writes to stdout instead of stderr"),
    "globals/display_after_user_end_probes": (BUG, _DISPLAY),
    "globals/display_before_later_priority_end_probes": (BUG, _DISPLAY),
    "globals/display_follows_resolution_order": (BUG, _DISPLAY),
    "globals/global_initializers": (BUG, "a string initializer of a global is lost"),
    "globals/incremented_array_is_displayed": (BUG, _DISPLAY),
    "globals/read_globals_are_not_displayed": (BUG, _DISPLAY),
    "globals/written_only_after_error_not_displayed": (BUG, _ERRSTREAM),
    "globals/written_only_array_is_displayed": (BUG, _DISPLAY),
    "globals/written_only_empty_statistics": (BUG, _DISPLAY),
    "globals/written_only_long_is_displayed": (BUG, _DISPLAY),
    "globals/written_only_statistics_are_displayed": (BUG, _DISPLAY),
    "globals/written_only_statistics_array_sorted_by_count": (BUG, _DISPLAY),
    "globals/written_only_string_array_with_two_keys": (BUG, _DISPLAY),
    "globals/written_only_string_is_displayed": (BUG, _DISPLAY),
    "printf/alternate_forms": (BUG, "%#x/%#o of 0 and %#08x follow glibc, not the runtime's number() "
                                    "(0x0, 00; one flag then width 8)"),
    "printf/binary_blob_4_bytes": (BUG, "%b prints binary digits as text instead of the value's bytes"),
    "printf/binary_blob_default_8_bytes": (BUG, "%b prints binary digits as text instead of the value's bytes"),
    "printf/char_alternate_form_escapes": (BUG, "%#c does not escape non-printing characters"),
    "printf/memory_dump_faults_without_memory": (BUG, "%m hangs stapbpf"),
    "printf/memory_dump_too_big": (BUG, "%m hangs stapbpf"),
    "printf/pointer_conversion": (BUG, "%p of 0 prints (nil) instead of 0x0 (man stap: %p is %#x)"),
    "printf/precision_on_numbers": (BUG, "%.0d of 0 prints nothing and precision cancels zero padding "
                                         "(glibc rules, not the runtime's number())"),
    "printf/print_concatenates_arguments": (BUG, "unary minus of a variable prints 0"),
    "printf/print_int64_extremes": (BUG, _WIDE),
    "printf/printf_mixed_types": (BUG, _WIDE),
    "printf/sign_flags": (BUG, "%+05d takes two flags (stap's format parser takes one: '+' then width 05)"),
    "printf/signed_decimal": (BUG, _WIDE),
    "printf/sprintf_in_loop_builds_table": (BUG, "a sprintf result passed to printf's %s is lost"),
    "printf/unsigned_conversions_of_negatives": (BUG, _WIDE),
    "stats/average_truncates_toward_zero": (BUG, _DIV),
    "stats/statistics_arrays": (BUG, "@count/@sum of statistics array elements are junk"),
    "stats/sum_wraps": (BUG, "@sum does not wrap at 64 bits"),
    "strings/octal_escape_three_digits": (BUG, "an octal escape swallows the digit after its three"),
    "strings/string_equality_and_order": (BUG, "string < > compare wrongly"),
    "strings/string_in_condition_compare": (BUG, "string == and < in if conditions compare wrongly"),
    "strings/text_str_escapes": (BUG, "text_str escapes with \\x.. and does not decode UTF-8 (_stp_text_str does)"),
    "timers/timer_error_stops_session": (BUG, _ERRSTREAM),
}
