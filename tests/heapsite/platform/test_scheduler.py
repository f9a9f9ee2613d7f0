import sys
import threading
import types

from heapsite.scheduler import TICK_MODULE, scheduler_run


def test_scheduler_without_the_sync_module_says_so_and_keeps_running(caplog, monkeypatch):
    monkeypatch.setitem(sys.modules, TICK_MODULE, None)  # importing it raises ModuleNotFoundError

    assert scheduler_run(interval_seconds=1, once=True) == 0
    assert "scheduling is not available" in caplog.text


def test_scheduler_survives_a_failing_tick_and_stops_on_request(caplog, monkeypatch):
    stop = threading.Event()
    calls = []

    def tick():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        if len(calls) == 3:
            stop.set()

    monkeypatch.setitem(sys.modules, TICK_MODULE, types.SimpleNamespace(tick=tick))
    thread = threading.Thread(target=scheduler_run, kwargs={"interval_seconds": 0.01, "stop": stop})
    thread.start()
    thread.join(timeout=10)

    assert not thread.is_alive()
    assert len(calls) == 3
    assert "scheduler tick failed" in caplog.text and "database went away" in caplog.text
