"""SDT markers: arguments read from the note's operand strings, semaphores raised while probed and put
back after, and the argument parser on the operand forms gcc emits."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapkit.runtime.live import LiveContext, LiveEngine
from tapkit.runtime.live.elfimage import ElfImage
from tapkit.runtime.live.sdt import SdtError, parse_argument


def test_marker_arguments_and_semaphore(markers: Path, capfd: pytest.CaptureFixture[str]) -> None:
    engine = LiveEngine()
    args: list[tuple[int, ...]] = []
    guarded: list[int] = []
    sems: list[int] = []
    image = ElfImage.load(str(markers))
    sem = image.by_name["tapkit_guarded_semaphore"]

    def on_args(ctx: LiveContext) -> None:
        args.append(tuple(ctx.mark_argument(i) for i in range(1, 5)))
        assert ctx.module is not None
        sems.append(int.from_bytes(ctx.memory.read(sem.address + ctx.module.bias, 2, True), "little"))

    engine.add_mark(str(markers), "tapkit", "args", on_args)
    engine.add_mark(str(markers), "tapkit", "guarded", lambda ctx: guarded.append(ctx.mark_argument(1)))
    result = engine.run([str(markers), "5"])
    out = capfd.readouterr().out
    # the program sees its semaphore raised while tapkit probes the marker
    assert out == "markers 5 guarded 5\n" and result.exit_code == 0
    assert args == [(i, -1 - i, 5000000000 + i, [100, 200, 300, 400][i % 4]) for i in range(5)]
    assert guarded == [0, 10, 20, 30, 40]
    assert sems == [1] * 5


def test_unprobed_marker_stays_off(markers: Path, capfd: pytest.CaptureFixture[str]) -> None:
    engine = LiveEngine()
    engine.add_mark(str(markers), "tapkit", "args", lambda ctx: None)
    engine.run([str(markers), "2"])
    assert capfd.readouterr().out == "markers 2 guarded 0\n"


def test_semaphore_restored_on_detach(markers: Path) -> None:
    """Attach, raise the semaphore, leave: the program later finds it back at 0."""
    import subprocess

    proc = subprocess.Popen([str(markers), "3", "wait"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    engine = LiveEngine()
    engine.add_mark(str(markers), "tapkit", "guarded", lambda ctx: None)
    raised: list[int] = []
    sem = ElfImage.load(str(markers)).by_name["tapkit_guarded_semaphore"]

    def begin(ctx: LiveContext) -> None:
        module = next(m for m in ctx.space.modules if m.path == str(markers))
        raised.append(int.from_bytes(ctx.memory.read(sem.address + module.bias, 2, True), "little"))
        engine.stop()

    engine.on_process_begin(begin)
    result = engine.run(pid=proc.pid)
    assert result.stopped and raised == [1]
    out, _ = proc.communicate("go\n", timeout=30)
    assert out == "markers 3 guarded 0\n" and proc.returncode == 0


def test_no_such_marker(markers: Path) -> None:
    from tapkit.runtime.live import TracerError

    with pytest.raises(TracerError, match="no SDT marker tapkit:nope"):
        LiveEngine().add_mark(str(markers), "tapkit", "nope", lambda ctx: None)


@pytest.mark.parametrize("text, fields", [
    ("-4@%edi", {"size": 4, "signed": True, "register": "rdi"}),
    ("8@%r12", {"size": 8, "signed": False, "register": "r12"}),
    ("1@%r9b", {"size": 1, "register": "r9"}),
    ("-1@%ah", {"register": "rax", "high_byte": True}),
    ("8@-16(%rbp)", {"base": "rbp", "displacement": -16}),
    ("4@8(%rax,%rbx,4)", {"base": "rax", "index": "rbx", "scale": 4, "displacement": 8}),
    ("-4@$42", {"constant": 42, "signed": True}),
    ("8@counter(%rip)", {"symbol": "counter", "base": "rip"}),
    ("-4@table+12(%rip)", {"symbol": "table", "displacement": 12}),
    ("8@(%rsp)", {"base": "rsp", "displacement": 0}),
])
def test_argument_forms(text: str, fields: dict[str, object]) -> None:
    arg = parse_argument(text)
    for name, value in fields.items():
        assert getattr(arg, name) == value, name


@pytest.mark.parametrize("text", ["3@%eax", "4@%xmm0", "x@%eax", "4@)(", "4@$zz"])
def test_argument_errors(text: str) -> None:
    with pytest.raises(SdtError, match="SDT argument"):
        parse_argument(text)
