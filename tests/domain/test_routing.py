"""Routing decisions, as pure functions over what is available where."""

from __future__ import annotations

from domain.routing.service import Candidate, Demand, Destination, plan_reservations

BERLIN = Candidate(1, "berlin", priority=2, country="DE", latitude=52.52, longitude=13.40)
PARIS = Candidate(2, "paris", priority=1, country="FR", latitude=48.86, longitude=2.35)
MUNICH = Candidate(3, "munich", priority=3, country="DE", latitude=48.14, longitude=11.58)
SHOE = Demand(10, "SHOE", 2, backorderable=False)


def _stock(**units: int) -> dict[tuple[int, int], int]:
    ids = {"berlin": 1, "paris": 2, "munich": 3}
    return {(10, ids[name]): n for name, n in units.items()}


def test_the_nearest_location_that_can_serve_everything_wins() -> None:
    hamburg = Destination("DE", 53.55, 9.99)
    plan = plan_reservations([SHOE], [PARIS, BERLIN, MUNICH], _stock(berlin=5, paris=5, munich=5),
                             hamburg)
    assert [(r.location_id, r.quantity) for r in plan.reservations] == [(1, 2)]
    assert plan.reason.startswith("berlin is the nearest (")


def test_without_coordinates_the_destination_country_then_priority_decide() -> None:
    plan = plan_reservations([SHOE], [PARIS, BERLIN, MUNICH], _stock(berlin=5, paris=5, munich=5),
                             Destination("DE"))
    assert plan.reservations[0].location_id == 1
    assert "in the destination country (DE)" in plan.reason
    anywhere = plan_reservations([SHOE], [PARIS, BERLIN], _stock(berlin=5, paris=5), None)
    assert anywhere.reservations[0].location_id == 2  # priority 1


def test_a_far_location_serving_everything_beats_a_near_partial_one() -> None:
    tee = Demand(11, "TEE", 1, backorderable=False)
    stock = {**_stock(berlin=5, paris=5), (11, 2): 1}
    plan = plan_reservations([SHOE, tee], [BERLIN, PARIS], stock, Destination("DE", 52.5, 13.4))
    assert {r.location_id for r in plan.reservations} == {2}


def test_shortfalls_name_what_is_available() -> None:
    plan = plan_reservations([Demand(10, "SHOE", 9, False)], [BERLIN, PARIS],
                             _stock(berlin=3, paris=4))
    assert [(d.sku, available) for d, available in plan.shortfalls] == [("SHOE", 7)]
