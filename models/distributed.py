"""Multi-process training (DistributedDataParallel under ``torchrun``), in one place.

``torchrun`` starts one process per device and tells each its place through the environment
(``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``). :func:`process_group` reads it, picks the device and
holds the process group for the length of a training run; the trainer shards its data with
:func:`shard_sampler`, wraps its model with :func:`wrap` and uses the two collectives below, so
every rank sees the same validation loss and stops at the same epoch. With one process (the
default) every function here is a no-op pass-through.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from workbench.errors import ParameterError

__all__ = ["Placement", "resolve_device", "placement", "release", "process_group", "wrap", "shard_sampler", "mean_over_ranks",
           "agree_on_stop"]


@dataclass(frozen=True)
class Placement:
    """Where this process trains.

    Attributes
    ----------
    device : str
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    world_size : int
        Number of training processes (1 without ``torchrun``).
    rank : int
        This process's rank, 0 to ``world_size - 1``; rank 0 writes the run folder and reports.
    """

    device: str = "cpu"
    world_size: int = 1
    rank: int = 0


def resolve_device(device: str) -> str:
    """The device a ``--device`` value names, checked against what this machine has.

    Parameters
    ----------
    device : str
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when available, else the CPU).

    Returns
    -------
    str
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Raises
    ------
    ParameterError
        CUDA asked for where there is none, or a name that is not a device.
    """
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError(f"--device {device!r}: no CUDA device is available here; expected cpu or auto")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ParameterError(f"--device {device!r} is not valid; expected cpu, cuda, cuda:N or auto")
    if device.startswith("cuda:"):
        index, count = device[5:], torch.cuda.device_count()
        if not index.isdigit() or int(index) >= count:
            raise ParameterError(f"--device {device!r}: this machine has {count} CUDA device(s); expected cuda:0 to "
                                 f"cuda:{count - 1}")
    return device


def placement(device: str = "cpu", *, environ: Mapping[str, str] | None = None) -> Placement:
    """This process's device, world size and rank; initialises the process group under ``torchrun``.

    Parameters
    ----------
    device : str
        As for :func:`resolve_device`. Under ``torchrun`` a CUDA device becomes ``cuda:LOCAL_RANK``
        (one GPU per process, NCCL); on the CPU the ranks talk through gloo.
    environ : mapping, optional
        Where ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` are read (default ``os.environ``).

    Returns
    -------
    Placement
        Call :func:`release` (or use :func:`process_group`) when training is over.
    """
    env = os.environ if environ is None else environ
    world_size = int(env.get("WORLD_SIZE", "1"))
    rank, local_rank = int(env.get("RANK", "0")), int(env.get("LOCAL_RANK", "0"))
    device = resolve_device(device)  # checked before a process group is joined
    if world_size > 1:
        import torch.distributed as dist

        if device.startswith("cuda"):
            device = f"cuda:{local_rank}"
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return Placement(device=device, world_size=world_size, rank=rank)


def release(where: Placement) -> None:
    """Leave the process group :func:`placement` joined (nothing with one process).

    Parameters
    ----------
    where : Placement
        What :func:`placement` returned.
    """
    if where.world_size > 1:
        import torch.distributed as dist

        dist.destroy_process_group()


@contextmanager
def process_group(device: str = "cpu") -> Iterator[Placement]:
    """:func:`placement` for the length of a ``with`` block; the group is left even on an error.

    Parameters
    ----------
    device : str
        As for :func:`placement`.

    Yields
    ------
    Placement
        This process's device, world size and rank.

    Examples
    --------
    >>> with process_group("cpu") as where:
    ...     meta = train(paths, cfg, out, device=where.device, world_size=where.world_size,
    ...                  rank=where.rank)  # doctest: +SKIP
    """
    where = placement(device)
    try:
        yield where
    finally:
        release(where)


def wrap(model: torch.nn.Module, *, world_size: int) -> torch.nn.Module:
    """``model`` in DistributedDataParallel when there are several ranks, else ``model`` itself.

    Parameters
    ----------
    model : torch.nn.Module
        Already on this rank's device.
    world_size : int
        Number of training processes.

    Returns
    -------
    torch.nn.Module
        What trains (gradients averaged over the ranks); save ``model`` itself, not the wrapper.
    """
    if world_size > 1:
        return torch.nn.parallel.DistributedDataParallel(model)
    return model


def shard_sampler(dataset: torch.utils.data.Dataset, *, world_size: int, rank: int,
                  seed: int) -> torch.utils.data.Sampler:
    """Each rank's share of ``dataset``, shuffled per epoch from ``seed`` (call ``set_epoch``).

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        The training items (with ``__len__``).
    world_size, rank : int
        Number of training processes and this one's rank.
    seed : int
        Seed of the per-epoch permutation, the same on every rank.

    Returns
    -------
    torch.utils.data.Sampler
        Indices of this rank's items, ``ceil(len(dataset) / world_size)`` per epoch.
    """
    from torch.utils.data.distributed import DistributedSampler

    return DistributedSampler(dataset, num_replicas=world_size, rank=rank, seed=seed)


def mean_over_ranks(value: float, *, world_size: int, device: str | torch.device) -> float:
    """The mean of ``value`` over every rank (``value`` itself with one process).

    Parameters
    ----------
    value : float
        This rank's number (e.g. its validation loss).
    world_size : int
        Number of training processes; every rank must call this together.
    device : str or torch.device
        This rank's device (NCCL reduces on the GPU).

    Returns
    -------
    float
    """
    if world_size == 1:
        return value
    v = torch.tensor([value], device=device)
    torch.distributed.all_reduce(v)
    return float(v) / world_size


def agree_on_stop(reason: str | None, reasons: Sequence[str], *, world_size: int,
                  device: str | torch.device) -> str | None:
    """The reason every rank stops for: the latest of ``reasons`` any rank gives, None when none stops.

    Every rank must stop at the same epoch, or the others wait forever in the next collective.

    Parameters
    ----------
    reason : str or None
        This rank's reason to stop now (one of ``reasons``), or None to go on.
    reasons : sequence of str
        The possible reasons, in order of precedence (the last wins).
    world_size : int
        Number of training processes; every rank must call this together.
    device : str or torch.device
        This rank's device.

    Returns
    -------
    str or None
    """
    if world_size == 1:
        return reason
    flag = torch.tensor([0 if reason is None else 1 + list(reasons).index(reason)], device=device)
    torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
    return None if int(flag) == 0 else reasons[int(flag) - 1]
