"""Key rotation for subject-keyed detector state: adopt what was recorded under the previous key.

During a rotation overlap (`pseudonym.rotation_overlap_until`) a query carries its subject's hash under
both keys. State a detector built before the rotation is keyed by the previous hash; the first query
that carries both moves that state to the current hash, so the subject keeps matching and, after the
overlap, only current hashes remain. Pure and order-independent: the move depends only on the events.
"""

from __future__ import annotations

from typing import Any

from stream.records import Query


def adopt_previous(q: Query, tables: list[dict[str, Any]], bucket_sets: list[dict[Any, set[str]]]) -> None:
    """Move entries keyed by `q.subject_key_prev` to `q.subject_key` in `tables` (list values are
    concatenated, numbers keep the larger) and in the sets of `bucket_sets` (e.g. dirty subjects)."""
    old, new = q.subject_key_prev, q.subject_key
    if not old or not new or old == new:
        return
    for table in tables:
        if old not in table:
            continue
        moved = table.pop(old)
        if new not in table:
            table[new] = moved
        elif isinstance(moved, list):
            table[new] = sorted(table[new] + moved, key=_order)
        else:
            table[new] = max(table[new], moved)
    for buckets in bucket_sets:
        for subjects in buckets.values():
            if old in subjects:
                subjects.discard(old)
                subjects.add(new)


def _order(entry: Any) -> tuple[float, str]:
    """Rows start with their event time; ties (and anything else) in a stable textual order."""
    head = entry[0] if isinstance(entry, list) and entry else None
    return (float(head) if isinstance(head, int | float) else 0.0, repr(entry))
