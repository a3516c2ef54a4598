"""Named crash points for fault tests: `DMVWATCH_FAILPOINT=<name>:<n>` kills the process with SIGKILL
the n-th time execution reaches `hit(<name>)`. Unset (production), `hit` is one dict lookup.

Points: `after_alert_write` (alerts durable, checkpoint and commit not yet), `during_checkpoint`
(before the checkpoint transaction), `after_checkpoint_write` (checkpoint durable, Kafka commit not yet).
"""

from __future__ import annotations

import os
import signal

_ARMED: dict[str, int] = {}
_spec = os.environ.get("DMVWATCH_FAILPOINT", "")
if ":" in _spec:
    _name, _, _count = _spec.partition(":")
    _ARMED[_name] = int(_count)


def hit(name: str) -> None:
    if name in _ARMED:
        _ARMED[name] -= 1
        if _ARMED[name] <= 0:
            os.kill(os.getpid(), signal.SIGKILL)
