"""`python -m record_task`: the operator CLI (record_task/cli/main.py, docs/operating.md).

The function's own log lines (Powertools child loggers) are for CloudWatch, not for an operator's
terminal: the command reports what matters itself.
"""

import logging
import sys

from record_task.cli.main import main

logging.getLogger("record-task").addHandler(logging.NullHandler())
logging.getLogger("record-task").propagate = False
sys.exit(main())
