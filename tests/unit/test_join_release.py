"""The response join lets a query go once every destination state has answered, in either order.

Timeline notation: T0 = 00:00; q = query, r = response (state), A = ACK_ONLY.
"""

from __future__ import annotations

import orjson

from stream.join import ResponseJoin, expected_answers
from tests.unit.factories import T0, make_query, make_response


def test_single_state_query_is_released_at_its_answer() -> None:
    #   q1(NY) r(NY)   -> q1 no longer held; a later stray answer waits the window out alone
    join = ResponseJoin(600)
    q = make_query(event_id="q1", destinations=("NY",))
    join.add_query(q)
    assert len(join) == 1
    assert join.add_response(make_response(q, event_id="r1", responding_state="NY")) != []
    assert len(join) == 0
    assert join.add_response(make_response(q, event_id="r-extra", responding_state="NY")) == []
    assert len(join) == 1  # the stray is waiting, released unjoined at the window's end


def test_multi_destination_query_waits_for_every_state_and_ignores_acks() -> None:
    #   q1(NY,NJ)  A(NY)  r(NJ)  r(NY)  -> held until the second real answer
    join = ResponseJoin(600)
    q = make_query(event_id="q1", destinations=("NY", "NJ"))
    join.add_query(q)
    pairs = [
        join.add_response(make_response(q, event_id=eid, responding_state=st, outcome=out))
        for eid, st, out in (("a", "NY", "ACK_ONLY"), ("b", "NJ", "NOT_ON_FILE"), ("c", "NY", "HIT"))
    ]
    assert [len(p) for p in pairs] == [1, 1, 1]  # all three joined the query
    assert len(join) == 0


def test_answers_before_the_query_count_too() -> None:
    #   r(NY) ... q1(NY)   -> joined on arrival of q1 and not held afterwards
    join = ResponseJoin(600)
    q = make_query(event_id="q1", destinations=("NY",))
    assert join.add_response(make_response(q, event_id="r1", responding_state="NY")) == []
    assert [r.event_id for r, _ in join.add_query(q)] == ["r1"]
    assert len(join) == 0


def test_all_states_and_ori_destinations_are_held_for_the_window() -> None:
    assert expected_answers(make_query(destinations=("NL",))) == 0
    assert expected_answers(make_query(destinations=("NYDMV0000",))) == 0
    assert expected_answers(make_query(destinations=("AX",))) == 0
    assert expected_answers(make_query(destinations=("NY", "AX"))) == 0
    assert expected_answers(make_query(destinations=("NY", "NY", "NJ"))) == 2
    join = ResponseJoin(600)
    q = make_query(event_id="q1", destinations=("NL",), ts=T0)
    join.add_query(q)
    join.add_response(make_response(q, event_id="r1", responding_state="NY"))
    assert len(join) == 1
    assert list(join.expire(T0 + 601)) == [] and len(join) == 0


def test_restore_keeps_partly_answered_counts() -> None:
    #   q1(NY,NJ) r(NY) | snapshot, restore | r(NJ) -> released in the restored join as in the original
    join = ResponseJoin(600)
    q = make_query(event_id="q1", destinations=("NY", "NJ"))
    join.add_query(q)
    join.add_response(make_response(q, event_id="r1", responding_state="NY"))
    state = orjson.loads(orjson.dumps(join.snapshot()))
    assert state["left"] == {"q1": 1}
    again = ResponseJoin(600)
    again.restore(state)
    assert len(again.add_response(make_response(q, event_id="r2", responding_state="NJ"))) == 1
    assert len(again) == 0
    old = ResponseJoin(600)  # a snapshot written before the counts existed: waits for both again
    old.restore({k: v for k, v in state.items() if k != "left"})
    old.add_response(make_response(q, event_id="r2", responding_state="NJ"))
    assert len(old) == 1
