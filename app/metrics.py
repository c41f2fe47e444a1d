"""Process-local counters an operator can read (`/api/super-admin/metrics`): requests by route
(app/middleware.py `route_label`: a bounded set of keys) and status class, and database
transactions opened by the API. Cheap enough for every request."""

from collections import Counter
from threading import Lock

_lock = Lock()
requests: Counter[str] = Counter()
transactions: Counter[str] = Counter()


def count_request(route: str, status: int) -> None:
    with _lock:
        requests[f"{route} {status // 100}xx"] += 1


def count_transaction(kind: str) -> None:
    with _lock:
        transactions[kind] += 1


def snapshot() -> dict[str, dict[str, int]]:
    with _lock:
        return {"requests": dict(requests), "transactions": dict(transactions)}
