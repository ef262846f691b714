from billiard.exceptions import SoftTimeLimitExceeded

from workers.nlp.errors import is_interrupt


def test_worker_time_limits_are_interrupts_and_step_errors_are_not():
    assert is_interrupt(SoftTimeLimitExceeded())
    assert not is_interrupt(RuntimeError("model failed"))
    assert not is_interrupt(OSError("no such model"))
