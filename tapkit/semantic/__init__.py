"""Pass 2: what each name means, what type each expression has, and what stap -p2 would reject.

Check a script as `stap -p2` would:

    from tapkit.semantic import check_script, CheckOptions
    result = check_script("x.stp", CheckOptions(release="6.1.0-56-amd64", debuginfo=("openafs.ko",)))
    result.ok, result.diagnostics            # Diagnostic(kind="semantic", code="sem.…", stap's wording)

Analyse parsed files against a tapset library (what the editor and the compiler use):

    from tapkit.semantic import TapsetLibrary, AnalysisOptions, ScriptFile, analyze
    library = TapsetLibrary.load(target, include_dirs)      # declarations index, trees loaded lazily
    analysis = analyze([ScriptFile(path, text, parse_result)], library, AnalysisOptions(target, …))
    analysis.diagnostics, analysis.probes, analysis.functions, analysis.globals

For the editor, analyze_text(text, path, CheckOptions(...), editor=True) (or analyze(..., editor=True))
keeps every body and builds Analysis.model, which tapkit.semantic.queries answers from.

The pipeline is stap's (see analysis.py): probe derivation with alias expansion (probes.py,
builtins.py, dwarfprobes.py with callsites.py for .label/.callee, tracepoints.py), symbol
resolution pulling tapset files in on use (resolve.py, session.py, library.py), target variables
through debuginfo (targets.py; @cast header modules: headers.py), the optimizer whose elisions
decide verdicts (optimize.py, fold.py, voidreduce.py, effects.py), type inference (infer.py,
typecalls.py) and the last checks (checks.py). The resolved program is made of tapkit.semantic.ir
nodes; queries.py answers the editor's questions about an Analysis.
"""

from tapkit.semantic.analysis import Analysis, ScriptFile, analyze
from tapkit.semantic.check import CheckOptions, CheckResult, analyze_text, check_script, check_text
from tapkit.semantic.library import TapsetLibrary
from tapkit.semantic.options import AnalysisOptions

__all__ = [
    "Analysis", "AnalysisOptions", "CheckOptions", "CheckResult", "ScriptFile", "TapsetLibrary", "analyze",
    "analyze_text", "check_script", "check_text",
]
