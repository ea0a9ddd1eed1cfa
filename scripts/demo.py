"""`make demo`: show tapkit at work on real inputs. Grows with each part of tapkit."""

from __future__ import annotations

import subprocess
import sys


def main() -> int:
    return subprocess.call([sys.executable, "-m", "tapkit.cli", "--help"])


if __name__ == "__main__":
    sys.exit(main())
