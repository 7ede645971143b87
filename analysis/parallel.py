"""Where corpus-scale work runs: in this process, on a local Ray, or on a Ray cluster.

The workbench does not schedule work itself: independent tasks (feature shards, the pitch
protocol's per-class models, sweeps of small models) go to Ray (https://docs.ray.io), which
users with a cluster already run. :class:`Compute` says where: in-process by default (no Ray
needed), a local Ray of ``workers`` processes, or the cluster at ``ray_address``. Each task asks
Ray for the CPUs and GPU share it needs. One large model across nodes stays with ``torchrun``
(:mod:`models.distributed`): data parallelism rarely speeds up models this small.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.errors import ParameterError

__all__ = ["Compute", "run_tasks", "collect"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Compute:
    """Where and on what a batch of tasks runs.

    Attributes
    ----------
    device : str
        Torch device of each task (``cpu``, ``cuda``, ``cuda:N``; checked by
        :func:`models.distributed.resolve_device` where it is used).
    workers : int
        0: in this process. N > 0: a local Ray started with N worker CPUs.
    ray_address : str or None
        A running Ray cluster (``ray://host:10001`` or ``host:6379``); ``workers`` is then ignored.
    gpu_share : float
        The share of a GPU each task asks Ray for when ``device`` is CUDA (several tasks per GPU).
    """

    device: str = "cpu"
    workers: int = 0
    ray_address: str | None = None
    gpu_share: float = 0.25

    def __post_init__(self):
        if not isinstance(self.workers, int) or isinstance(self.workers, bool) or self.workers < 0:
            raise ParameterError(f"--workers {self.workers!r} is not valid; expected 0 (in this process) or a positive "
                                 f"number of worker processes")
        if not 0 < self.gpu_share <= 1:
            raise ParameterError(f"gpu_share={self.gpu_share!r} is not valid; expected a share in (0, 1]")

    @property
    def uses_ray(self) -> bool:
        """Whether tasks go to Ray (local or a cluster)."""
        return bool(self.ray_address) or self.workers > 0


def _check_reachable(address: str, *, timeout: float = 3.0) -> None:
    """One line when nothing listens at a Ray address (Ray itself retries for minutes)."""
    import socket

    if address in ("auto", "local"):
        return
    rest = address.removeprefix("ray://")
    host, _, port = rest.rpartition(":") if ":" in rest else (rest, "", "")
    port_n = int(port) if port.isdigit() else (10001 if address.startswith("ray://") else 6379)
    try:
        socket.create_connection((host or rest, port_n), timeout=timeout).close()
    except OSError as err:
        raise ParameterError(f"--ray-address {address!r} could not be reached ({err.strerror or err}); expected a "
                             f"running Ray head there (`ray start --head`)") from None


def _ray_init(compute: Compute):
    """Connect to (or start) Ray as ``compute`` says; a Ray already initialised here is reused."""
    try:
        import ray
    except ImportError:  # pragma: no cover - ray is a dependency; this guards a trimmed install
        raise ParameterError("--workers/--ray-address need Ray (pip install ray); expected it installed") from None
    if ray.is_initialized():
        return ray
    if compute.ray_address:
        _check_reachable(compute.ray_address)
    env = {"env_vars": {"OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(filter(None, [
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.environ.get("PYTHONPATH", "")]))}}
    try:
        if compute.ray_address:
            ray.init(address=compute.ray_address, runtime_env=env, log_to_driver=False, logging_level=logging.WARNING)
        else:
            ray.init(num_cpus=compute.workers, runtime_env=env, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.WARNING)
    except (ConnectionError, TimeoutError, RuntimeError, ValueError) as err:
        where = compute.ray_address or f"a local Ray of {compute.workers} workers"
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ParameterError(f"--ray-address {where!r} could not be reached ({first}); expected a running Ray "
                             f"head (`ray start --head`) at that address") from None
    return ray


def run_tasks(fn: Callable[..., Any], items: Sequence[Any], *, compute: Compute | None = None, num_cpus: float = 1.0,
              gpu: bool = False, desc: str = "tasks", progress: bool = True, retries: int = 2) -> Iterator[tuple[int, Any]]:
    """Run ``fn(item)`` for every item where ``compute`` says; yield ``(index, result)`` as each finishes.

    In-process (the default) items run in order. On Ray each item is one task asking for
    ``num_cpus`` CPUs (and ``compute.gpu_share`` of a GPU when ``gpu`` and the device is CUDA);
    a task whose worker dies is retried ``retries`` times, then the run stops with one line.
    Results are yielded as they finish, so the caller can store each at once (a killed run
    keeps what was done).

    Parameters
    ----------
    fn : callable
        A module-level function (Ray pickles it by reference).
    items : sequence
        Its arguments, one per task.
    compute : Compute, keyword-only
        Where.
    num_cpus : float, keyword-only
        CPUs each Ray task reserves.
    gpu : bool, keyword-only
        The task uses ``compute.device`` when it is CUDA.
    desc : str, keyword-only
        The progress bar's label.
    progress : bool, keyword-only
        A progress bar with an ETA.
    retries : int, keyword-only
        Ray retries of a task whose worker died.

    Yields
    ------
    (int, object)
        The item's index and ``fn``'s result.
    """
    from tqdm import tqdm

    compute = compute or Compute()
    bar = tqdm(total=len(items), desc=desc, unit="task", disable=not progress)
    try:
        if not compute.uses_ray:
            for i, item in enumerate(items):
                yield i, fn(item)
                bar.update()
            return
        ray = _ray_init(compute)
        gpus = compute.gpu_share if gpu and compute.device.startswith("cuda") else 0
        remote = ray.remote(num_cpus=num_cpus, num_gpus=gpus, max_retries=retries)(fn)
        pending = {remote.remote(item): i for i, item in enumerate(items)}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            i = pending.pop(done[0])
            try:
                result = ray.get(done[0])
            except Exception as err:  # ray wraps the task's own error or the worker's death
                for ref in pending:
                    ray.cancel(ref, force=True)
                cause = getattr(err, "cause", None) or err
                if isinstance(cause, ParameterError):
                    raise cause from None
                first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
                raise ParameterError(f"{desc} task {i} failed on its Ray worker after {retries} retries "
                                     f"({type(cause).__name__}: {first[:200]}); expected it to finish - what "
                                     f"was done is kept, run again to resume") from None
            yield i, result
            bar.update()
    finally:
        bar.close()


def collect(fn: Callable[..., Any], items: Iterable[Any], **kw) -> list:
    """:func:`run_tasks` gathered in item order.

    Parameters
    ----------
    fn, items, kw
        As for :func:`run_tasks`.

    Returns
    -------
    list
        ``fn(item)`` for each item, in order.
    """
    items = list(items)
    out: list = [None] * len(items)
    for i, r in run_tasks(fn, items, **kw):
        out[i] = r
    return out
