"""tapkit.runtime.compiler: the checked program (pass 2) compiled to Python source, run with exec."""

from tapkit.runtime.compiler.program import CompiledProgram, GlobalInfo, ProbeSite, TimerSpec, compile_program
from tapkit.runtime.compiler.targets import NoTargets, TargetBinder, VariableAccess
from tapkit.runtime.compiler.unit import CompileError, Limits

__all__ = ["CompileError", "CompiledProgram", "GlobalInfo", "Limits", "NoTargets", "ProbeSite", "TargetBinder",
           "TimerSpec", "VariableAccess", "compile_program"]
