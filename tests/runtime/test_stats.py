"""Aggregates and histograms: documented examples, every error, and stat.c itself as oracle."""

from __future__ import annotations

import random

import pytest

from tapkit.runtime.arrays import StatArray
from tapkit.runtime.errors import StapError
from tapkit.runtime.stats import (
    HIST_LINEAR,
    HIST_LOG,
    HIST_NONE,
    LOG_HIST,
    NO_HIST,
    HistogramError,
    HistSpec,
    Stat,
    hist_bucket,
    hist_buckets,
    hist_text,
    log_bucket,
    log_bucket_value,
    stat_avg,
    stat_count,
    stat_max,
    stat_min,
    stat_sum,
    stat_variance,
)
from tests.runtime.c_oracle import COracle


def stat_of(values: list[int], spec: HistSpec = NO_HIST, shift: int | None = None) -> Stat:
    s = Stat(spec, shift)
    for v in values:
        s.add(v)
    return s


def test_man_page_variance_examples() -> None:
    # man stap: 1..5 gives @variance 12, and 2 with bit-shift 1 (the exact value is 2.5)
    assert stat_variance(stat_of([1, 2, 3, 4, 5], shift=0)) == 12
    assert stat_variance(stat_of([1, 2, 3, 4, 5], shift=1)) == 2


def test_array_element_variance_has_no_correction_term() -> None:
    arr = StatArray(variance_shift=0)
    for v in (1, 2, 3, 4, 5):
        arr.add("k", v)
    assert stat_variance(arr.get("k")) == 7  # Welford's M2 / (n - 1) in integers: 30 / 4


def test_single_value_variance_is_zero() -> None:
    assert stat_variance(stat_of([42], shift=0)) == 0


def test_extractors() -> None:
    s = stat_of([5, -3, 10, -7])
    assert (stat_count(s), stat_sum(s), stat_min(s), stat_max(s), stat_avg(s)) == (4, 5, -7, 10, 1)
    assert stat_avg(stat_of([-1, -2])) == -1  # C division truncates toward zero
    assert stat_sum(stat_of([(1 << 63) - 1, 1])) == -(1 << 63)  # sums wrap


def test_empty_aggregates() -> None:
    empty = Stat()
    assert stat_count(empty) == 0 and stat_sum(empty) == 0
    assert stat_count(None) == 0 and stat_sum(None) == 0  # a missing array element
    for extractor in (stat_min, stat_max, stat_avg, stat_variance):
        with pytest.raises(StapError) as err:
            extractor(empty, "operator '@min' at t.stp:3:9")
        assert err.value.text == "empty aggregate near operator '@min' at t.stp:3:9"
        with pytest.raises(StapError, match=r"^empty aggregate$"):
            extractor(None)


def test_clear() -> None:
    s = stat_of([1, 2], HistSpec.linear(0, 10, 1))
    s.clear()
    assert stat_count(s) == 0 and not any(s.hist)
    with pytest.raises(StapError, match="empty aggregate"):
        hist_text(s)


def test_log_buckets() -> None:
    assert [log_bucket(v) for v in (0, 1, 2, 3, 4, 7, 8, -1, -2, -3, -4, -(1 << 63), (1 << 63) - 1)] == [
        64, 65, 66, 66, 67, 67, 68, 63, 62, 62, 61, 0, 127]
    assert [log_bucket_value(b) for b in (64, 65, 66, 67, 63, 62, 61, 0)] == [0, 1, 2, 4, -1, -2, -4, -(1 << 63)]


def test_linear_bucket_count_and_errors() -> None:
    assert HistSpec.linear(0, 100, 10).buckets == 13  # under + 11 ranges + over
    assert HistSpec.linear(0, 10, 3).buckets == 6  # C division: 10 / 3 == 3
    with pytest.raises(HistogramError, match="interval cannot be zero"):
        HistSpec.linear(0, 10, 0)
    with pytest.raises(HistogramError, match="Number of buckets must be between 1 and 126"):
        HistSpec.linear(0, 1000, 1)


LINEAR_EXPECTED = """\
value |-------------------------------------------------- count
   <0 |@                                                  1
    0 |@@                                                 2
   10 |@@                                                 2
   20 |                                                   0
   30 |                                                   0
   40 |                                                   0
   50 |@@@                                                3
   60 |                                                   0
   70 |                                                   0
      ~
   90 |                                                   0
  100 |                                                   0
 >100 |@                                                  1

"""


def test_linear_histogram_with_underflow_overflow_and_elision() -> None:
    s = stat_of([1, 5, 12, 13, 55, 55, 55, 200, -5], HistSpec.linear(0, 100, 10))
    assert hist_text(s) == LINEAR_EXPECTED


def test_one_bucket_histogram() -> None:
    text = hist_text(stat_of([3, 3, 3], HistSpec.linear(0, 10, 1)))
    assert text.splitlines() == [
        "value |-------------------------------------------------- count",
        "    1 |                                                   0",
        "    2 |                                                   0",
        "    3 |@@@                                                3",
        "    4 |                                                   0",
        "    5 |                                                   0",
        "",
    ]


def test_log_histogram_with_negatives_and_scaling() -> None:
    s = stat_of([-5] * 120 + [0] + [1000] * 7, LOG_HIST)
    lines = hist_text(s).splitlines()
    assert lines[0] == "value |-------------------------------------------------- count"
    # 120 > 50, so each @ is ceil(120 / 50) = 3 values
    assert lines[1:5] == [
        "  -16 |                                                     0",
        "   -8 |                                                     0",
        "   -4 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@           120",
        "   -2 |                                                     0",
    ]
    assert "    0 |                                                     1" in lines
    assert "  512 |@@                                                   7" in lines
    assert "      ~" in lines


def test_hist_bucket_indexing() -> None:
    s = stat_of([3, 3, 50], HistSpec.linear(0, 10, 1))
    assert hist_bucket(s, 4) == 2  # bucket 0 is underflow, so 3 lives in bucket 4
    assert hist_bucket(s, len(s.hist) - 1) == 1
    assert hist_buckets(s)[4] == 2 and len(hist_buckets(s)) == 13
    with pytest.raises(StapError, match=r"^histogram index out of range$"):
        hist_bucket(s, 13)
    with pytest.raises(StapError, match=r"^histogram index out of range$"):
        hist_bucket(s, -1)
    with pytest.raises(StapError, match=r"^empty aggregate$"):
        hist_bucket(Stat(HistSpec.linear(0, 10, 1)), 0)


def test_linear_buckets_with_wrapping_offset() -> None:
    s = stat_of([(1 << 63) - 1], HistSpec.linear(-10, 10, 5))
    assert s.hist[0] == 1  # value - start wraps negative in int64, so it counts as underflow


@pytest.mark.parametrize("seed", range(3))
def test_random_stats_match_stat_c(c_oracle: COracle, seed: int) -> None:
    """stat.c's _stp_stat_add/_stp_stat_get and _stp_stat_print_histogram, compiled here."""
    rng = random.Random(seed)
    for _ in range(150):
        kind = rng.choice([HIST_NONE, HIST_LOG, HIST_LINEAR])
        start = rng.randint(-1000, 1000)
        interval = rng.randint(1, 100)
        stop = start + interval * rng.randint(0, 120)
        spec = HistSpec.linear(start, stop, interval) if kind == HIST_LINEAR else HistSpec(kind)
        if kind == HIST_LOG:
            spec = LOG_HIST
        shift = rng.choice([None, None, 0, 0, 1, 3, 10])  # None: no @variance, the specialised add()
        scale = rng.choice([10, 1000, 1 << 20, 1 << 40, 1 << 62])
        values = [rng.randint(-scale, scale) for _ in range(rng.randint(1, 300))]
        if rng.random() < 0.3:
            values = [rng.choice(values[:3]) for _ in values]  # tall bars
        numbers, text = c_oracle.stat(shift or 0, kind, start, stop, interval, values)
        s = stat_of(values, spec, shift)
        ours = [stat_count(s), stat_sum(s), stat_min(s), stat_max(s), stat_avg(s), stat_variance(s)]
        if shift is None:
            ours[5] = numbers[5]  # no variance kept
        assert ours == numbers, (kind, shift, values)
        assert (hist_text(s) if kind != HIST_NONE else "") == text, (spec, values)
