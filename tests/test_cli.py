import subprocess
import sys


def test_help_exits_zero() -> None:
    proc = subprocess.run([sys.executable, "-m", "tapkit.cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert "tapkit" in proc.stdout


def test_no_command_is_usage_error() -> None:
    proc = subprocess.run([sys.executable, "-m", "tapkit.cli"], capture_output=True, text=True)
    assert proc.returncode == 2
