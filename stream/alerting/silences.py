"""Silences kept in Redis (`<prefix>:silences`, one JSON document per id), with their creation and expiry
appended to the alert audit stream. The matching logic itself is pure and lives in `mute.py`."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from stream.alerting.keys import Keys, text
from stream.alerting.mute import Silence, silence_state


class UnknownSilence(LookupError):
    pass


class SilenceStore:
    def __init__(
        self, client: redis.Redis, prefix: str = "dmvq", *, now: Callable[[], float] = time.time
    ) -> None:
        self.client = client
        self.keys = Keys(prefix)
        self._now = now

    def add(
        self,
        matchers: dict[str, str],
        author: str,
        comment: str,
        duration_s: float,
        starts_at: float | None = None,
    ) -> Silence:
        """Create a silence from now (or `starts_at`) for `duration_s` seconds."""
        now = self._now()
        start = now if starts_at is None else starts_at
        sil = Silence(
            matchers=matchers,
            author=author,
            comment=comment,
            starts_at=start,
            ends_at=start + duration_s,
            created_at=now,
        )
        self._save(sil, actor=author, what="silence_added", reason=comment)
        return sil

    def get(self, silence_id: str) -> Silence:
        raw = self.client.hget(self.keys.silences, silence_id)
        if raw is None:
            raise UnknownSilence(silence_id)
        return Silence.model_validate_json(text(raw))

    def all(self) -> list[Silence]:
        rows = self.client.hvals(self.keys.silences)
        return sorted((Silence.model_validate_json(text(r)) for r in rows), key=lambda s: (s.starts_at, s.id))

    def current(self, now: float) -> list[Silence]:
        """Silences not yet expired at `now` (pending or active): what the notifier consults."""
        return [s for s in self.all() if silence_state(s, now) != "expired"]

    def expire(self, silence_id: str, actor: str, reason: str = "expired by hand") -> Silence:
        """End a silence now; expired silences are kept so the audit can show what was muted when."""
        sil = self.get(silence_id)
        now = self._now()
        if silence_state(sil, now) == "expired":
            return sil
        ended = sil.model_copy(update={"ends_at": max(now, sil.starts_at + 1e-3)})
        self._save(ended, actor=actor, what="silence_expired", reason=reason)
        return ended

    def _save(self, sil: Silence, *, actor: str, what: str, reason: str) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.silences, sil.id, sil.model_dump_json())
            pipe.xadd(
                self.keys.audit,
                {
                    "alert_id": "-",
                    "silence_id": sil.id,
                    "from": "",
                    "to": what,
                    "actor": actor,
                    "reason": reason,
                    "at": repr(float(self._now())),
                },
            )
            pipe.execute()
