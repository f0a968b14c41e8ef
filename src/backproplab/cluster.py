"""Work spread over dask.distributed: `--scheduler tcp://HOST:8786` or `--scheduler local:N`.

`connect` opens a client to a running scheduler (a university cluster's, started with
dask-jobqueue or the Dask Kubernetes operator: docs/cluster.md), or starts a
`distributed.LocalCluster` of N worker processes on this machine. `map_unordered`
sends one task per item with at most `window` in flight, so the client holds only what
is in flight (a class of 50,000 is never read into memory at once), and yields each
item's outcome as it completes. A task lost with its worker is run again on another
worker by the scheduler; each item's outcome is yielded exactly once.

dask.distributed is an optional dependency (the `cluster` extra).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from .errors import ConfigError

INSTALL_HINT = 'install it with: pip install "backproplab[cluster]" (dask[distributed])'
CONNECT_TIMEOUT_S = 30.0
WORKERS_TIMEOUT_S = 120.0  # a batch system may take a while to start the workers
SCHEDULER = re.compile(r"(?:local:(?P<n>[1-9][0-9]{0,2}))|(?P<address>(?:tcp|tls|inproc|ucx|ws|wss)://\S+)")


class ClusterError(ConfigError):
    """The Dask scheduler cannot be used (one line)."""


def check_scheduler(spec: str) -> str:
    """`spec` if it names a scheduler (tcp://HOST:PORT, tls://…, or local:N), else ClusterError."""
    if not SCHEDULER.fullmatch(spec or ""):
        raise ClusterError(f"--scheduler {spec!r}: give a scheduler address (tcp://HOST:8786) or local:N "
                           "(N worker processes on this machine)")
    return spec


def _distributed():
    try:
        import distributed
    except ModuleNotFoundError as e:
        if e.name not in ("distributed", "dask"):
            raise
        raise ClusterError(f"--scheduler needs dask.distributed, which is not installed: {INSTALL_HINT}") from None
    return distributed


@contextmanager
def connect(spec: str, workers_timeout: float = WORKERS_TIMEOUT_S) -> Iterator[Any]:
    """A `distributed.Client` for `spec` with at least one worker; closed (and a local cluster shut
    down, its worker processes with it) on leaving. ClusterError with one line if it cannot."""
    check_scheduler(spec)
    distributed = _distributed()
    match = SCHEDULER.fullmatch(spec)
    cluster = None
    try:
        if match["n"]:
            # One thread per worker process: each grades with its own warm sandbox, and sympy and
            # matplotlib are not made faster by threads sharing one interpreter.
            cluster = distributed.LocalCluster(n_workers=int(match["n"]), threads_per_worker=1, processes=True,
                                               dashboard_address=None, host="127.0.0.1")
            client = distributed.Client(cluster)
        else:
            client = distributed.Client(match["address"], timeout=CONNECT_TIMEOUT_S)
    except OSError as e:
        if cluster is not None:
            cluster.close()
        raise ClusterError(f"cannot reach the Dask scheduler at {spec}: {e}") from None
    try:
        try:
            client.wait_for_workers(1, timeout=workers_timeout)
        except TimeoutError:
            raise ClusterError(f"no Dask worker joined the scheduler at {spec} within {workers_timeout:g} s") from None
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def map_unordered(client: Any, fn: Callable[[Any], Any], items: Iterable[tuple[str, Any]],
                  window: int | None = None) -> Iterator[tuple[str, Any, BaseException | None]]:
    """Run `fn(arg)` on the cluster for each (name, arg) of `items`; yield (name, result, None) or
    (name, None, exception) as each completes, each name once.

    `items` is consumed lazily: at most `window` tasks are in flight (default: four per worker
    thread, so no worker waits for the client). Task keys are "<fn>-<name>": names must be
    unique. A task whose worker dies is retried by the scheduler on another worker (up to its
    `allowed-failures`, then it fails with KilledWorker, yielded as that item's exception).
    """
    distributed = _distributed()
    if window is None:
        threads = sum(client.nthreads().values()) or 1
        window = max(8, 4 * threads)
    prefix = getattr(fn, "__name__", "task")
    pending = iter(items)
    names: dict[str, str] = {}  # future key -> item name
    done = distributed.as_completed()

    def submit() -> bool:
        for name, arg in pending:
            future = client.submit(fn, arg, key=f"{prefix}-{name}", pure=False, retries=0)
            names[future.key] = name
            done.add(future)
            return True
        return False

    for _ in range(window):
        if not submit():
            break
    seen: set[str] = set()
    for future in done:
        name = names.pop(future.key)
        if future.status == "finished":
            outcome: tuple[str, Any, BaseException | None] = (name, future.result(), None)
        else:
            outcome = (name, None, future.exception())
        future.release()
        submit()
        if name in seen:  # cannot happen with unique keys; never record an item twice
            continue
        seen.add(name)
        yield outcome
