"""The AI system register (issue 14): one shared, cited record per system that CX and
compliance both sign.

    from kb.register import Register
    register = Register.open()
    entry = register.add(name="Claims bot", description="...", owner="CX claims")

``store`` owns the SQLite file, ``records`` the frozen records and field limits,
``workflow`` the review statuses, ``register`` the typed API (the owner's and reviewer's
actions) over ``core`` (reading, the steps every change shares), ``recheck`` (rechecks,
amendment impact, deadlines) and ``backup`` (dump and restore), ``export`` CSV, Markdown and
JSON (and import), ``cli`` the ``python -m kb register`` commands.
"""

from kb.register.records import (
    Deadline,
    Decision,
    Diff,
    Entry,
    Recheck,
    Snapshot,
    Status,
    System,
    Tick,
    Use,
)
from kb.register.register import Register

__all__ = ["Deadline", "Decision", "Diff", "Entry", "Recheck", "Register", "Snapshot", "Status",
           "System", "Tick", "Use"]
