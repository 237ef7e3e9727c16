"""Running one job delivery: claim, lease, breaker, limiter, phased outside calls, recorded outcome.

No Celery here: :class:`~shared.execution.runner.JobRunner` returns a :class:`Done` or a :class:`Defer`
and the task layer acks or re-schedules accordingly.
"""

from shared.execution.steps import Defer, Done, Step

__all__ = ["Defer", "Done", "Step"]
