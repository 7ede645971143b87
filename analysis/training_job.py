"""A training run in the background: start ``workbench train`` as a child process, see whether it
still runs, ask it to stop.

The dashboard's Training page must not block while a model trains, and a training must outlive
the page's reruns (and a browser tab closed and opened again). So the job is a separate process,
``python -m workbench train ...`` (the same command a user types), in its own process group, and
everything needed to find it again sits in the run folder:

- ``training.json`` (:data:`JOB_FILE`): the command, the pid, the request (method, epochs, time
  budget), when it started and whether a stop was asked for;
- ``train.log`` (:data:`LOG_FILE`): the command's output (its progress bar and one-line errors);
- ``train.rc`` (:data:`RC_FILE`): its exit status, written by the small shell that runs it when
  it ends (a killed job leaves none).

Stopping writes the loop's stop file (:data:`models.callbacks.STOP_FILE`): the run finishes its
epoch, measures its last scorecard and writes its folder as on any other stop. A job that has
not finished an epoch yet, or does not stop within the grace period, is terminated.

Examples
--------
>>> job = start_training("recordings/cello", "runs/cello", method="autoencoder", epochs=20)  # doctest: +SKIP
>>> job_status("runs/cello")["state"]  # doctest: +SKIP
'running'
>>> stop_training("runs/cello")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from models.callbacks import STOP_FILE
from workbench.errors import ParameterError

__all__ = ["JOB_FILE", "LOG_FILE", "RC_FILE", "METHODS", "train_command", "check_verdict", "start_training",
           "read_job", "job_status", "stop_training", "log_tail"]

log = logging.getLogger(__name__)

JOB_FILE, LOG_FILE, RC_FILE = "training.json", "train.log", "train.rc"
METHODS = ("autoencoder", "ddsp")
# the children this process started: polling them reaps them (a finished child otherwise stays a
# zombie that looks alive to a signal 0) and gives their exit status
_CHILDREN: dict[int, subprocess.Popen] = {}


def train_command(target: str | os.PathLike, out: str | os.PathLike, *, method: str = "autoencoder",
                  epochs: int | None = None, max_seconds: float | None = None, preset: str | None = None,
                  scorecard_every: int | None = None, settings: list[str] | tuple[str, ...] = (),
                  force: bool = False, seed: int = 0) -> tuple[list[str], dict]:
    """The ``workbench train`` arguments for a request, checked before anything starts.

    Parameters
    ----------
    target : str or PathLike
        The material (a folder of audio or one file).
    out : str or PathLike
        The run folder.
    method : str, keyword-only
        ``"autoencoder"`` or ``"ddsp"``.
    epochs : int, optional, keyword-only
        Epochs at most (default the method's ``train.epochs``).
    max_seconds : float, s, optional, keyword-only
        A time budget for the training (``train.max_seconds``; 0 or None: the method's default).
    preset : str, optional, keyword-only
        An autoencoder preset (``nsynth``, ``quality``, ``low-latency``, ``low-delay``).
    scorecard_every : int, optional, keyword-only
        Epochs between scorecard measurements (default ``train.scorecard_every``).
    settings : sequence of str, keyword-only
        More ``KEY=VALUE`` overrides (``--set``).
    force : bool, keyword-only
        Train on material the doctor calls not enough (``--force``).
    seed : int, keyword-only

    Returns
    -------
    args : list of str
        After ``workbench``: ``["train", "--target", ...]``.
    plan : dict
        ``epochs`` and ``max_seconds`` the run will have (from its validated config), ``method``.

    Raises
    ------
    ParameterError
        A bad method, count, budget or setting (the config's own message).
    """
    from workbench.config import make_config
    from workbench.validate import check_int, check_number

    if method not in METHODS:
        raise ParameterError(f"method={method!r} is not valid; expected one of {', '.join(METHODS)}")
    if epochs is not None:
        check_int(epochs, "epochs")
    if max_seconds is not None:
        check_number(max_seconds, "max_seconds", lo=0, what=" seconds")
    if scorecard_every is not None:
        check_int(scorecard_every, "scorecard_every", what=" (epochs)")
    sets = [s.strip() for s in settings if s.strip()]
    if epochs is not None:
        sets.append(f"train.epochs={int(epochs)}")
    if max_seconds:
        sets.append(f"train.max_seconds={float(max_seconds):g}")
    if scorecard_every is not None:
        sets.append(f"train.scorecard_every={int(scorecard_every)}")
    cfg = make_config(preset=preset or None, overrides=sets, seed=seed, method=method)  # refuses bad settings now
    args = ["train", "--method", method, "--target", str(target), "--out", str(out), "--seed", str(int(seed))]
    if preset:
        args += ["--preset", preset]
    for s in sets:
        args += ["--set", s]
    if force:
        args.append("--force")
    return args, {"method": method, "epochs": cfg.train.epochs, "max_seconds": cfg.train.max_seconds}


def check_verdict(report: dict, *, force: bool = False) -> None:
    """Refuse material the doctor calls "not enough", with its reason, unless ``force``.

    Parameters
    ----------
    report : dict
        From :func:`analysis.doctor.examine`.
    force : bool, keyword-only
        Train anyway.

    Raises
    ------
    ParameterError
        The verdict is "not enough" and ``force`` is False.
    """
    v = report.get("verdict") or {}
    if v.get("verdict") == "not enough" and not force:
        raise ParameterError(f"training refused: {v.get('reason', 'the doctor calls the material not enough')}; "
                             "force it to train anyway")


def _package_root() -> str:
    """The folder this workbench is imported from, so the child runs the same code (a checkout
    beside an installed copy would otherwise run the installed one)."""
    import workbench

    return str(Path(workbench.__file__).resolve().parents[1])


def start_training(target: str | os.PathLike, out: str | os.PathLike, *, python: str | None = None,
                   **request) -> dict:
    """Start ``workbench train`` in the background, writing into the run folder ``out``.

    Parameters
    ----------
    target : str or PathLike
        The material: an existing folder of audio or an audio file.
    out : str or PathLike
        The run folder: new, or empty (a folder with a run in it is refused).
    python : str, optional, keyword-only
        The interpreter (default this one).
    **request
        :func:`train_command`'s keywords (``method``, ``epochs``, ``max_seconds``...).

    Returns
    -------
    dict
        The job (what :func:`read_job` reads back): ``pid``, ``args``, ``started``, ``out``,
        ``log``, the plan (``method``, ``epochs``, ``max_seconds``).

    Raises
    ------
    ParameterError
        A missing target, a run folder in use, or a bad request (:func:`train_command`).
    """
    target, out = Path(target).expanduser().resolve(), Path(out).expanduser().resolve()
    if not target.exists():
        raise ParameterError(f"target {str(target)!r} does not exist; expected a folder of audio or an audio file")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ParameterError(f"run folder {str(out)!r} already exists and is not empty; choose a new name")
    args, plan = train_command(target, out, **request)
    out.mkdir(parents=True, exist_ok=True)
    (out / STOP_FILE).unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_package_root(), os.environ.get("PYTHONPATH")])),
           "PYTHONUNBUFFERED": "1"}
    cmd = [python or sys.executable, "-m", "workbench", *args]
    # a shell waits for the command and keeps its exit status, so a job's end is known after the
    # dashboard that started it has gone; its own session makes it the group stop_training ends
    shell = ["/bin/sh", "-c", '"$@"; echo $? > "$0"', str(out / RC_FILE), *cmd]
    with (out / LOG_FILE).open("w") as fh:
        proc = subprocess.Popen(shell, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=str(out), start_new_session=True)
    _CHILDREN[proc.pid] = proc
    job = {"pid": proc.pid, "args": args, "command": " ".join(["workbench", *args]), "started": time.time(),
           "out": str(out), "target": str(target), "log": str(out / LOG_FILE), "stop_requested": None,
           "killed": None, **plan}
    _write_job(out, job)
    log.info("training started (pid %d): %s", proc.pid, job["command"])
    return job


def _write_job(out: Path, job: dict) -> None:
    tmp = out / (JOB_FILE + ".part")
    tmp.write_text(json.dumps(job, indent=1))
    tmp.replace(out / JOB_FILE)


def read_job(out: str | os.PathLike) -> dict | None:
    """The job that trains (or trained) into ``out``; None when the page started none there.

    Parameters
    ----------
    out : str or PathLike
        A run folder.

    Returns
    -------
    dict or None
        As :func:`start_training` returned it, with ``stop_requested`` / ``killed`` times.
    """
    f = Path(out) / JOB_FILE
    try:
        return json.loads(f.read_text()) if f.is_file() else None
    except (OSError, json.JSONDecodeError):
        return None


def _alive(pid: int, out: str) -> bool:
    """Whether the job's process still runs (its group leader, the shell, waits for the training)."""
    proc = _CHILDREN.get(pid)
    if proc is not None:
        return proc.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # on Linux, tell a zombie or a recycled pid from the job: its command line names the run folder
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
        return out in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return True


def log_tail(out: str | os.PathLike, *, lines: int = 1, max_bytes: int = 16384) -> list[str]:
    """The last lines of a job's log, progress-bar redraws (``\\r``) split as lines.

    Parameters
    ----------
    out : str or PathLike
        The run folder.
    lines : int, keyword-only
        How many.
    max_bytes : int, keyword-only
        How much of the end of the log is read.

    Returns
    -------
    list of str
        Non-empty lines, oldest first (empty without a log).
    """
    f = Path(out) / LOG_FILE
    try:
        with f.open("rb") as fh:
            fh.seek(max(0, f.stat().st_size - max_bytes))
            text = fh.read().decode(errors="replace")
    except OSError:
        return []
    parts = [p.strip() for p in text.replace("\r", "\n").split("\n")]
    return [p for p in parts if p][-lines:]


def job_status(out: str | os.PathLike) -> dict | None:
    """Where the job in ``out`` stands.

    Parameters
    ----------
    out : str or PathLike
        A run folder.

    Returns
    -------
    dict or None
        None without a job; else the job (:func:`read_job`) with ``state``: ``"running"``,
        ``"stopping"`` (asked to stop, still running), ``"done"`` (exit status 0),
        ``"stopped"`` (asked to stop and ended), ``"failed"`` (another status; ``reason`` is
        its last log line) or ``"lost"`` (ended without an exit status: killed from outside);
        ``returncode`` (None while running or when lost) and ``last_line`` of the log.
    """
    job = read_job(out)
    if job is None:
        return None
    out = Path(out)
    alive = _alive(int(job["pid"]), job.get("out", str(out)))
    rc = None
    try:
        rc = int((out / RC_FILE).read_text().strip())
    except (OSError, ValueError):
        pass
    tail = log_tail(out, lines=1)
    last = tail[-1] if tail else ""
    if alive:
        state = "stopping" if job.get("stop_requested") else "running"
    elif job.get("stop_requested") or job.get("killed"):
        state = "stopped"
    elif rc == 0:
        state = "done"
    elif rc is not None:
        state = "failed"
    else:
        state = "lost"
    out_job = {**job, "state": state, "running": alive, "returncode": rc, "last_line": last}
    if state == "failed":
        out_job["reason"] = last or f"exit status {rc}"
    return out_job


def _kill(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the job leads its own group: the shell and the training go together
    except (ProcessLookupError, PermissionError):
        pass


def stop_training(out: str | os.PathLike, *, grace: float = 0.0, now: bool = False) -> dict | None:
    """Ask the job in ``out`` to stop after its current epoch, or end it now.

    Parameters
    ----------
    out : str or PathLike
        A run folder with a job.
    grace : float, s, keyword-only
        How long to wait here for the job to end before terminating it (0: do not wait; the
        page comes back and calls again with ``now=True`` if it must).
    now : bool, keyword-only
        Terminate the process group at once (SIGTERM, then SIGKILL after 5 s). Also what
        happens to a job that has not finished an epoch yet (a run that is still reading its
        material or tracking pitch would only notice the stop file after its first epoch).

    Returns
    -------
    dict or None
        The job's status after the request (:func:`job_status`); None without a job.
    """
    from models.checkpoint import RunFolder

    out = Path(out)
    job = read_job(out)
    if job is None:
        return None
    pid = int(job["pid"])
    if not _alive(pid, job.get("out", str(out))):
        return job_status(out)
    job["stop_requested"] = job.get("stop_requested") or time.time()
    (out / STOP_FILE).write_text("stop after this epoch\n")
    now = now or not RunFolder(out).read_loss().get("epoch")
    deadline = time.monotonic() + grace
    while not now and time.monotonic() < deadline and _alive(pid, job["out"]):
        time.sleep(0.2)
    if now or (grace and _alive(pid, job["out"])):
        job["killed"] = time.time()
        _kill(pid, signal.SIGTERM)
        end = time.monotonic() + 5.0
        while _alive(pid, job["out"]) and time.monotonic() < end:
            time.sleep(0.1)
        if _alive(pid, job["out"]):
            _kill(pid, signal.SIGKILL)
        (out / STOP_FILE).unlink(missing_ok=True)
    _write_job(out, job)
    log.info("training in %s: stop %s", out, "forced" if job.get("killed") else "requested")
    return job_status(out)
