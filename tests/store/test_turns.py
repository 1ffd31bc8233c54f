"""SQLite write turns: webhooks and background work alternate, nobody is starved."""

from __future__ import annotations

import threading
import time

from cockpit.store.turns import WriteTurns


def _queue_up(turns: WriteTurns, kinds: list[bool], order: list[str]) -> list[threading.Thread]:
    """Start one waiter per kind (True: urgent), each queued before the next starts."""
    threads = []
    for i, urgent in enumerate(kinds):
        name = f"{'webhook' if urgent else 'background'}{i}"

        def work(name: str = name, urgent: bool = urgent) -> None:
            assert turns.acquire(5.0, urgent=urgent)
            order.append(name)
            turns.release()

        thread = threading.Thread(target=work)
        thread.start()
        threads.append(thread)
        time.sleep(0.05)  # let it reach the queue
    return threads


def test_a_waiting_webhook_goes_after_at_most_one_background_write() -> None:
    """Queued background writers and webhooks get the turn alternately, webhook first."""
    turns, order = WriteTurns(), []
    assert turns.acquire(1.0)
    threads = _queue_up(turns, [False, False, False, True, True], order)
    turns.release()
    for thread in threads:
        thread.join(5)
    kinds = [name.rstrip("0123456789") for name in order]
    assert kinds == ["webhook", "background", "webhook", "background", "background"]


def test_the_turn_is_reentrant_and_times_out_for_others() -> None:
    """The holder may take the turn again; another thread gives up after its timeout,
    and the turn is free for the next once the holder releases it fully."""
    turns, results = WriteTurns(), []
    assert turns.acquire(1.0) and turns.acquire(1.0, urgent=True)
    waiter = threading.Thread(target=lambda: results.append(turns.acquire(0.1)))
    waiter.start()
    waiter.join(5)
    assert results == [False]
    turns.release()
    turns.release()
    waiter = threading.Thread(target=lambda: results.append(turns.acquire(1.0)))
    waiter.start()
    waiter.join(5)
    assert results == [False, True]


def test_a_timed_out_webhook_does_not_strand_background_work() -> None:
    """A webhook that gave up while a background writer waited behind it hands the free
    turn on, so the background writer does not wait out its own timeout."""
    turns, order = WriteTurns(), []
    assert turns.acquire(1.0, urgent=True)  # the last turn was urgent: background's next
    turns.release()
    assert turns.acquire(1.0)  # background holds; next favours webhooks
    late = threading.Thread(target=lambda: order.append(turns.acquire(0.2, urgent=True)))
    late.start()
    time.sleep(0.05)
    threads = _queue_up(turns, [False], order)
    late.join(5)  # the webhook gave up while the turn was still held
    started = time.monotonic()
    turns.release()
    threads[0].join(5)
    assert order[0] is False and order[1] == "background0"
    assert time.monotonic() - started < 1.0
