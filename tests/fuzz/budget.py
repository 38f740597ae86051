"""How many examples a property test draws: its full count under `make fuzz` (FUZZ_EXAMPLES=full), a fifth of
it in `make test` (the quick form), from the same fixed seed either way."""

from __future__ import annotations

import os

FULL = os.environ.get("FUZZ_EXAMPLES", "") == "full"


def examples(full: int) -> int:
    return full if FULL else full // 5
