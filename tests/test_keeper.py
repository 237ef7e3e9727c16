"""The one lease keeper (shared.locks.Keeper): renews every third of the time to live, reports loss."""

from __future__ import annotations

import threading

from shared.locks import Keeper
from testkit.stacks import wait_for


def test_renews_every_third_until_stopped() -> None:
    calls: list[int] = []
    with Keeper(lambda: calls.append(1) is None, 0.15, "test") as keeper:
        wait_for(lambda: len(calls) >= 4, 5, "four renewals")
        assert not keeper.lost
    seen = len(calls)
    threading.Event().wait(0.2)
    assert len(calls) == seen  # stopped: no renewal after stop()


def test_a_renewal_that_says_no_is_a_loss_for_good() -> None:
    answers = iter([True, False, True])
    keeper = Keeper(lambda: next(answers), 10.0, "test")
    assert keeper.renew_once() and not keeper.lost
    assert not keeper.renew_once() and keeper.lost and "lost" in keeper.reason
    assert not keeper.renew_once()  # never renewed again


def test_renew_may_say_why_itself() -> None:
    keeper: Keeper

    def renew() -> bool:
        keeper.lose("taken by another owner")
        return False

    keeper = Keeper(renew, 10.0, "test")
    assert not keeper.renew_once() and keeper.reason == "taken by another owner"


def test_an_error_is_a_blip_but_staleness_is_a_loss() -> None:
    now = [0.0]

    def failing() -> bool:
        raise ConnectionError("store down")

    keeper = Keeper(failing, 10.0, "test", clock=lambda: now[0])
    assert keeper.renew_once() and not keeper.lost  # tried again next tick
    now[0] = 7.9
    assert not keeper.lost
    now[0] = 8.1  # past 0.8 of the time to live without a renewal
    assert keeper.lost and "not renewed" in keeper.reason
