"""The end probes stap adds for globals a script writes but never reads (elaborate.cxx add_global_var_display).

stap prints each such global when the session ends, one synthetic end probe per global, in the
order the globals are declared; the formats below are the ones `stap -p3` emits for 4.8:

    n=5                       a long          s="x"                   a string
    a[1]=2   b["k",3]="v"     arrays (unsorted), string keys and values quoted
    st @count=3 @min=1 @max=4 @sum=8 @avg=2        statistics ("st @count=0x0" when empty)
    sa["q"] @count=1 ...      statistics arrays, by @count descending

Only globals of the user's own files are displayed; a global whose value is used anywhere (an rvalue,
a `delete`, a foreach) is not, while `a[k]++` and `a[k] += v` statements only write, as in stap's varuse.
"""

from __future__ import annotations

from tapkit.runtime.compiler.emitter import Lines
from tapkit.semantic import ir
from tapkit.semantic.analysis import Analysis
from tapkit.semantic.effects import VarUse


def displayed_globals(analysis: Analysis) -> list[ir.VarDef]:
    session = analysis.session
    if session is None:
        return []
    vu = VarUse()
    for dp in analysis.probes:
        vu.stmt(dp.body)
    user_files = {sf.path for sf in session.user_files}
    out = []
    for v in analysis.globals:
        if (v in vu.read and v in vu.used) or v not in vu.written or v.file not in user_files or v.synthetic:
            continue
        if v.type not in (ir.LONG, ir.STRING, ir.STATS):
            continue
        out.append(v)
    return out


_STATS_FIELDS = ("@count=%d @min=%d @max=%d @sum=%d @avg=%d",
                 "_stat_count({s}), _stat_min({s}, None), _stat_max({s}, None), _stat_sum({s}), "
                 "_stat_avg({s}, None)")


def display_function(name: str, v: ir.VarDef, py: str) -> Lines:
    """`def display_N(ctx):` printing one global as stap's synthetic end probe does."""
    out = Lines(0)
    out.add(f"def {name}(ctx):")
    with out.indented():
        if v.arity <= 0:
            if v.type == ir.STATS:
                out.add(f"if _stat_count({py}) == 0:")
                out.add(f"    _write({v.name + ' @count=0x0' + chr(10)!r})")
                out.add("else:")
                fmt, args = _STATS_FIELDS
                out.add(f"    _write({v.name + ' ' + fmt + chr(10)!r} % ({args.format(s=py)}))")
            elif v.type == ir.STRING:
                out.add(f"_write({v.name + '=' + chr(34)!r} + {py} + {chr(34) + chr(10)!r})")
            else:
                out.add(f"_write({v.name + '='!r} + str({py}) + {chr(10)!r})")
            return out
        keys = ["%d" if t == ir.LONG else '"%s"' for t in v.index_types]
        head = v.name + "[" + ",".join(keys) + "]"
        column = "0, True" if v.type == ir.STATS else "None, False"
        out.add(f"for _k in {py}.foreach_keys({column}, None, None, 'count'):")
        with out.indented():
            key = "_k" if len(keys) == 1 else "*_k"
            out.add(f"_kv = ({key},)")
            if v.type == ir.STATS:
                fmt, args = _STATS_FIELDS
                out.add(f"_s = {py}.get(_k)")
                out.add(f"_write({head + ' ' + fmt + chr(10)!r} % (*_kv, {args.format(s='_s')}))")
            elif v.type == ir.STRING:
                out.add(f"_write({head + '=' + chr(34) + '%s' + chr(34) + chr(10)!r} % (*_kv, {py}.get(_k)))")
            else:
                out.add(f"_write({head + '=%d' + chr(10)!r} % (*_kv, {py}.get(_k)))")
    return out
