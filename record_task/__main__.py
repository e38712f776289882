"""`python -m record_task`: the operator CLI (record_task/cli/main.py, docs/operating.md)."""

import sys

from record_task.cli.main import main

sys.exit(main())
