"""tapkit.runtime.live: live user-space probes on running processes (x86_64 Linux, ptrace). API below."""

from tapkit.runtime.live.engine import LiveContext, LiveEngine, LiveProbe, RunResult
from tapkit.runtime.live.tracer import TracerError

__all__ = ["LiveContext", "LiveEngine", "LiveProbe", "RunResult", "TracerError"]
