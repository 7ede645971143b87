"""A latent mix played for a listener: the shape of a mixing run (its instrument codes and latent
width) and one input through :class:`effects.latent_mix.LatentMixEffect` at the run's rate, with
the latent trajectory it took. Whether a mix sounds like what it says is :mod:`analysis.mix_eval`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.run_info import run_info
from workbench.audio import resample, validate_audio
from workbench.errors import ParameterError
from workbench.upload import MIN_INPUT_SAMPLES

__all__ = ["latent_mix_shape", "render_latent_mix"]


def latent_mix_shape(model: str | Path) -> tuple[list[str], int]:
    """The instrument codes and latent width of a multi-instrument run, as the latent mixing effect reads them.

    Parameters
    ----------
    model : str or Path
        A multi-instrument run folder.

    Returns
    -------
    codes : list of str
    latent_dim : int
    """
    from effects.latent_mix import LatentMixEffect

    fx = LatentMixEffect(model=str(model))
    return list(fx.codes), int(fx.latent_dim)


def render_latent_mix(audio: np.ndarray, sr: int, *, model: str | Path, morph: np.ndarray | None = None,
                      **params: object) -> dict:
    """Play mono ``audio`` through :class:`effects.latent_mix.LatentMixEffect`.

    Parameters
    ----------
    audio : np.ndarray [shape=(1, n)]
        The input, mono.
    sr : int, Hz
        Rate of ``audio`` (and of ``morph``); both are resampled to the model's rate, the output back.
    model : str or Path, keyword-only
        A multi-instrument run folder (see :func:`models.run_info.multi_instrument_runs`).
    morph : np.ndarray [shape=(1, m)], optional, keyword-only
        The second input of the ``morph`` mode, mono at ``sr``.
    **params
        The effect's other keyword parameters: ``mode``, ``source``, ``target``, ``alpha``,
        ``scale``, ``offset``, ``faders``, ``mix``...

    Returns
    -------
    dict
        ``output`` ``(n,)`` at ``sr``, ``trajectory`` ``(frames, latent_dim)``, ``frame_seconds``
        (time between latent frames), ``codes`` and ``latent_dim``.

    Raises
    ------
    ParameterError
        A run without instrument codes, or a bad input.
    """
    from effects.latent_mix import LatentMixEffect

    info = run_info(model)
    if not info["codes"]:
        raise ParameterError(f"model={str(model)!r} has no instrument codes in meta.json; expected a "
                             "multi-instrument run (workbench train --set model.condition=onehot)")
    x = validate_audio(audio, sr=sr, min_samples=MIN_INPUT_SAMPLES, name="input")[:1]
    msr = int(info["sr"] or sr)
    if morph is not None:
        m = validate_audio(morph, sr=sr, min_samples=MIN_INPUT_SAMPLES, name="morph input")[:1]
        params["morph"] = np.ascontiguousarray((resample(m, sr, msr) if msr != sr else m)[0])
    fx = LatentMixEffect(model=str(model), **params)
    y = fx.process(resample(x, sr, msr) if msr != sr else x, msr)
    y = resample(np.asarray(y, np.float32), msr, sr) if msr != sr else np.asarray(y, np.float32)
    traj = np.asarray(fx.latent_trajectory, np.float32)
    hop = info["config"].get("config", {}).get("audio", {}).get("hop_length") or 256
    return {"output": y[0][: x.shape[1]], "trajectory": traj, "frame_seconds": hop / msr,
            "codes": list(fx.codes), "latent_dim": int(fx.latent_dim)}
