"""Moved to `python -m record_task redrive` (record_task/cli/queues.py); this keeps `python -m tools.redrive`
working with the same options."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from record_task.cli.main import main as cli


def main(argv: Sequence[str] | None = None) -> int:
    return cli(["redrive", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
