"""stap's "(similar: a, b, c)" lists: a weighted edit distance, best five, ties in name order."""

from __future__ import annotations

from collections.abc import Iterable

UNLIMITED = 2**32 - 1


def distance(a: str, b: str) -> int:
    """stap's levenshtein(): insertions, deletions and substitutions cost 2, a change of case only 1,
    but the matrix edges count 1 per character (so a pure prefix or suffix difference is cheap)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        la = ca.lower()
        for j, cb in enumerate(b, 1):
            if ca == cb:
                cur.append(prev[j - 1])
            else:
                sub = 1 if la == cb.lower() else 2
                cur.append(min(prev[j - 1] + sub, prev[j] + 2, cur[j - 1] + 2))
        prev = cur
    return prev[-1]


def levenshtein_suggest(target: str, candidates: Iterable[str], limit: int = 5, threshold: int = UNLIMITED) -> str:
    """The closest candidates, comma-separated, at most limit of them, none scoring above threshold."""
    scored: list[tuple[int, str]] = []
    for cand in sorted(set(candidates)):
        if not cand:
            continue
        floor = abs(len(target) - len(cand))
        if floor > threshold:
            continue
        worst = scored[limit - 1][0] if len(scored) >= limit else UNLIMITED
        if floor > worst:
            continue
        score = distance(target, cand)
        if score > worst or score > threshold:
            continue
        # a stable insert keeps earlier (smaller) names first among equal scores
        i = len(scored)
        while i > 0 and scored[i - 1][0] > score:
            i -= 1
        scored.insert(i, (score, cand))
    return ", ".join(name for _, name in scored[:limit])
