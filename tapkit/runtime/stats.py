"""Statistics aggregates (`<<<`, @count ... @variance) and histograms, as runtime/stat*.c do them.

One Stat is one stap `stat_data` on a single CPU. Values are int64 and every sum wraps;
@avg is C division of sum by count; @variance is Welford's algorithm in integer
arithmetic with the script's bit-shift, including the runtime's `int delta` (32 bits).
A scalar's @variance goes through _stp_stat_get's total-variance step (which the stap
man page's examples show: 1..5 gives 12, and 2 with shift 1), an array element's
through _new_map_copy_stat (no correction term).

Histogram text is produced by a port of _stp_stat_print_histogram_buf: the header line,
bars scaled to 50 columns, `~` for elided runs of empty rows, and "<start"/">…" rows for
linear under- and overflow.
"""

from __future__ import annotations

from dataclasses import dataclass

from tapkit.runtime.arith import UINT64_MASK, div_nocheck, wrap, wrap32
from tapkit.runtime.errors import EMPTY_AGGREGATE, HISTOGRAM_INDEX_OUT_OF_RANGE, StapError

HIST_NONE, HIST_LOG, HIST_LINEAR = 0, 1, 2
HIST_LOG_BUCKETS = 128
HIST_LOG_BUCKET0 = 64
STP_MAX_BUCKETS = 128
HIST_WIDTH = 50
HIST_ELISION = 2


class HistogramError(ValueError):
    """Linear histogram parameters the runtime refuses (_stp_stat_calc_buckets)."""


@dataclass(frozen=True, slots=True)
class HistSpec:
    kind: int
    start: int = 0
    stop: int = 0
    interval: int = 0
    buckets: int = 0

    @classmethod
    def linear(cls, start: int, stop: int, interval: int) -> HistSpec:
        """Buckets: underflow, (stop - start) / interval + 1 ranges, overflow (C int division)."""
        start, stop, interval = wrap32(start), wrap32(stop), wrap32(interval)  # the runtime's int parameters
        if interval == 0:
            raise HistogramError("histogram: interval cannot be zero.")
        span = wrap32(stop - start)
        q = abs(span) // abs(interval)
        buckets = (q if (span < 0) == (interval < 0) else -q) + 3
        if buckets > STP_MAX_BUCKETS or buckets < 3:
            raise HistogramError(
                f"histogram: Number of buckets must be between 1 and {STP_MAX_BUCKETS - 2}\n"
                "Number_of_buckets = (stop - start) / interval.\n"
                "Please adjust your start, stop, and interval values.")
        return cls(HIST_LINEAR, start, stop, interval, buckets)


LOG_HIST = HistSpec(HIST_LOG, buckets=HIST_LOG_BUCKETS)
NO_HIST = HistSpec(HIST_NONE)


def log_bucket(value: int) -> int:
    """_stp_val_to_bucket: 64 for 0, 64 + bit length for positives, mirrored for negatives."""
    if value > 0:
        return HIST_LOG_BUCKET0 + value.bit_length()
    if value == 0:
        return HIST_LOG_BUCKET0
    return HIST_LOG_BUCKET0 - ((-value) & UINT64_MASK).bit_length()


def log_bucket_value(bucket: int) -> int:
    """_stp_bucket_to_val: the smallest magnitude a log bucket holds."""
    if bucket == HIST_LOG_BUCKET0:
        return 0
    if bucket < HIST_LOG_BUCKET0:
        return (-(1 << 63)) >> bucket
    return 1 << (bucket - HIST_LOG_BUCKET0 - 1)


class Stat:
    """A statistics aggregate. `variance_shift` is None unless the script uses @variance.

    Constructing one picks a subclass with an `add` specialised for the histogram kind when
    no variance is kept (the common, hot case); all share these fields and results.
    """

    __slots__ = ("_interval", "_kind", "_last", "_start", "array_element", "avg_s", "count", "hist", "m2", "max",
                 "min", "shift", "spec", "sum", "variance_s")

    def __new__(cls, spec: HistSpec = NO_HIST, variance_shift: int | None = None,
                array_element: bool = False) -> Stat:
        if cls is Stat and variance_shift is None:
            cls = _FAST_STATS[spec.kind]
        return object.__new__(cls)

    def __init__(self, spec: HistSpec = NO_HIST, variance_shift: int | None = None,
                 array_element: bool = False) -> None:
        self.spec = spec
        self._kind = spec.kind
        self._start = spec.start
        self._interval = spec.interval
        self._last = spec.buckets - 1
        self.hist: list[int] = [0] * spec.buckets
        self.shift = variance_shift
        self.array_element = array_element
        self.count = self.sum = self.min = self.max = 0
        self.avg_s = self.m2 = self.variance_s = 0

    def add(self, value: int) -> None:
        """`stat <<< value` (__stp_stat_add)."""
        if self.count:
            self.count += 1
            total = self.sum + value
            self.sum = total if -(1 << 63) <= total < (1 << 63) else wrap(total)
            if value > self.max:
                self.max = value
            if value < self.min:
                self.min = value
            if self.shift is not None:
                scaled = wrap(value << self.shift)
                delta = wrap32(scaled - self.avg_s)  # `int delta` in stat-common.c
                self.avg_s = wrap(self.avg_s + div_nocheck(delta, self.count))
                self.m2 = wrap(self.m2 + delta * wrap(scaled - self.avg_s))
                self.variance_s = div_nocheck(self.m2, self.count - 1)
        else:
            self.count = 1
            self.sum = self.min = self.max = value
            if self.shift is not None:
                self.avg_s = wrap(value << self.shift)
                self.m2 = 0
        kind = self._kind
        if kind == HIST_LINEAR:
            _linear_count(self, value)
        elif kind == HIST_LOG:
            self.hist[log_bucket(value)] += 1

    def clear(self) -> None:
        """`delete stat` (_stp_stat_clear_data)."""
        self.count = self.sum = self.min = self.max = 0
        self.avg_s = self.variance_s = 0
        if self.hist:
            self.hist = [0] * len(self.hist)

    def variance(self) -> int:
        if self.shift is None or self.count == 0:
            return 0
        if self.array_element:
            return self.variance_s >> (2 * self.shift)
        agg_avg = div_nocheck(wrap(self.sum << self.shift), self.count)
        d = wrap(self.avg_s - agg_avg)
        s1 = wrap(self.count * wrap(d * d))
        s2 = wrap((self.count - 1) * self.variance_s)
        total = wrap(s1 + s2)
        variance_s = div_nocheck(total, self.count - 1) if self.count != 1 else 0
        return variance_s >> (2 * self.shift)


def _linear_count(stat: Stat, value: int) -> None:
    offset = value - stat._start
    if not -(1 << 63) <= offset < (1 << 63):
        offset = wrap(offset)  # value - start is int64 arithmetic in the runtime
    if offset < 0:
        stat.hist[0] += 1
    else:
        bucket = offset // stat._interval + 1
        stat.hist[bucket if bucket < stat._last else stat._last] += 1


class _PlainStat(Stat):
    __slots__ = ()

    def add(self, value: int) -> None:
        if self.count:
            self.count += 1
            total = self.sum + value
            self.sum = total if -(1 << 63) <= total < (1 << 63) else wrap(total)
            if value > self.max:
                self.max = value
            elif value < self.min:
                self.min = value
        else:
            self.count = 1
            self.sum = self.min = self.max = value


class _LogStat(Stat):
    __slots__ = ()

    def add(self, value: int) -> None:
        if self.count:
            self.count += 1
            total = self.sum + value
            self.sum = total if -(1 << 63) <= total < (1 << 63) else wrap(total)
            if value > self.max:
                self.max = value
            elif value < self.min:
                self.min = value
        else:
            self.count = 1
            self.sum = self.min = self.max = value
        if value > 0:
            self.hist[64 + value.bit_length()] += 1
        elif value == 0:
            self.hist[64] += 1
        else:
            self.hist[64 - ((-value) & 0xFFFFFFFFFFFFFFFF).bit_length()] += 1


class _LinearStat(Stat):
    __slots__ = ()

    def add(self, value: int) -> None:
        if self.count:
            self.count += 1
            total = self.sum + value
            self.sum = total if -(1 << 63) <= total < (1 << 63) else wrap(total)
            if value > self.max:
                self.max = value
            elif value < self.min:
                self.min = value
        else:
            self.count = 1
            self.sum = self.min = self.max = value
        offset = value - self._start
        if offset >= 0 and offset < (1 << 63):
            bucket = offset // self._interval + 1
            self.hist[bucket if bucket < self._last else self._last] += 1
        else:
            _linear_count(self, value)


_FAST_STATS: dict[int, type[Stat]] = {HIST_NONE: _PlainStat, HIST_LOG: _LogStat, HIST_LINEAR: _LinearStat}


def _nonempty(stat: Stat | None, where: str | None) -> Stat:
    if stat is None or stat.count == 0:
        raise StapError(EMPTY_AGGREGATE, where)
    return stat


def stat_count(stat: Stat | None) -> int:
    return 0 if stat is None else stat.count


def stat_sum(stat: Stat | None) -> int:
    return 0 if stat is None else stat.sum


def stat_min(stat: Stat | None, where: str | None = None) -> int:
    return _nonempty(stat, where).min


def stat_max(stat: Stat | None, where: str | None = None) -> int:
    return _nonempty(stat, where).max


def stat_avg(stat: Stat | None, where: str | None = None) -> int:
    s = _nonempty(stat, where)
    return div_nocheck(s.sum, s.count)


def stat_variance(stat: Stat | None, where: str | None = None) -> int:
    return _nonempty(stat, where).variance()


def hist_bucket(stat: Stat | None, index: int, where: str | None = None) -> int:
    """`@hist_linear(s, ...)[i]` and `i in @hist_log(s)`."""
    s = _nonempty(stat, where)
    if 0 <= index < len(s.hist):
        return s.hist[index]
    raise StapError(HISTOGRAM_INDEX_OUT_OF_RANGE, where)


def hist_buckets(stat: Stat | None) -> list[int]:
    """What `foreach (b in @hist_*(s))` walks: every bucket, under/overflow included."""
    return [] if stat is None else list(stat.hist)


def needed_space(value: int) -> int:
    if value == 0:
        return 1
    if value < 0:
        return 1 + len(str((-value) & UINT64_MASK))
    return len(str(value))


def _cpad(text: str, width: int) -> str:
    """C's %*s: right-justified, a negative width left-justifies."""
    return text.rjust(width) if width >= 0 else text.ljust(-width)


def hist_text(stat: Stat | None, where: str | None = None) -> str:
    """What `print(@hist_linear(...))` / `print(@hist_log(...))` writes."""
    s = _nonempty(stat, where)
    if s.spec.kind == HIST_NONE:
        return ""
    return _histogram_text(s.spec, s.hist)


def _histogram_text(spec: HistSpec, hist: list[int]) -> str:
    buckets = spec.buckets
    low, high, valmax = -1, 0, 0
    for i, n in enumerate(hist):
        if n > 0:
            if low == -1:
                low = i
            high = i
        valmax = max(valmax, n)
    for _ in range(2):  # up to two empty rows of margin each side
        if spec.kind == HIST_LOG:
            if low != HIST_LOG_BUCKET0 and low > 0:
                low -= 1  # log histograms only go negative for negative data
        elif low > 0:
            low -= 1
        if high < buckets - 1:
            high += 1
    under = over = 0
    if spec.kind == HIST_LINEAR:
        if low == 0 and hist[0] == 0:
            low += 1
        if high == buckets - 1 and hist[high] == 0:
            high -= 1
        under = 1 if low == 0 else 0
        over = 1 if high == buckets - 1 else 0
    scale = 1 if valmax <= HIST_WIDTH else -(-valmax // HIST_WIDTH)
    cnt_space = needed_space(valmax)
    if spec.kind == HIST_LINEAR:
        val_space = max(needed_space(spec.start) + under,
                        needed_space(wrap32(spec.start + spec.interval * high)) + over)  # int arithmetic in C
    else:
        val_space = max(needed_space(log_bucket_value(high)), needed_space(log_bucket_value(low)))
    val_space = max(val_space, 5)

    out = [_cpad("value", val_space), " |", "-" * HIST_WIDTH, " count\n"]
    eliding = False
    for i in range(low, high + 1):
        lo_k = max(low, i - min(HIST_ELISION, buckets))
        hi_k = min(high, i + min(HIST_ELISION, buckets))
        if not any(hist[lo_k : hi_k + 1]):
            eliding = True
            continue
        if eliding:
            out.append(_cpad("", val_space) + " ~\n")
            eliding = False
        prefix = ""
        if spec.kind == HIST_LINEAR:
            if i == 0:
                val, prefix = spec.start, "<"
            elif i == buckets - 1:
                val, prefix = wrap(spec.start + (i - 2) * spec.interval), ">"
            else:
                val = wrap(spec.start + (i - 1) * spec.interval)
        else:
            val = log_bucket_value(i)
        bar = hist[i] // scale
        out.append(f"{_cpad(prefix, val_space - needed_space(val))}{val} |")
        out.append("@" * bar)
        out.append(_cpad(str(hist[i]), HIST_WIDTH - bar + 1 + cnt_space) + "\n")
    out.append("\n")
    return "".join(out)
