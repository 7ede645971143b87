"""A user's take made from rendered melodies: one long stereo 48 kHz file with room reverberation,
a noise floor, breaths and silences between phrases, no index and no MIDI (issue 26, part 4)."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from workbench.audio import load


def realistic_take(melodies: Sequence[str | Path], out: str | Path, *, sr: int = 48000, reverb: int = 40,
                   noise: float = 0.003, seed: int = 0) -> Path:
    """Write one 16-bit stereo take of ``melodies`` played in a room.

    Each melody (resampled to ``sr``) is followed by a silence of 0.8-1.5 s with a breath in it
    (0.3 s of band-passed noise about 30 dB under the playing); the whole is made stereo with a
    little level difference between the channels, put through sox's ``reverb`` (``reverb``
    percent reverberance) and mixed with sox's pink noise at amplitude ``noise`` (about -50 dBFS).

    Parameters
    ----------
    melodies : sequence of path
        Rendered melodies (any rate; mono or stereo).
    out : path
        The take (WAV).
    sr : int, Hz, keyword-only
        Its rate (44100 or 48000, as a recorder writes).
    reverb : int, percent, keyword-only
        sox reverberance.
    noise : float, keyword-only
        Amplitude of the pink-noise floor.
    seed : int, keyword-only
        Gaps and breaths.

    Returns
    -------
    Path
        ``out``.
    """
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    parts = []
    band = butter(4, [300, 3000], btype="bandpass", fs=sr, output="sos")
    for p in melodies:
        y = load(p, sr=sr, mono=True)[0][0]
        parts.append(y)
        gap = np.zeros(int(rng.uniform(0.8, 1.5) * sr), np.float32)
        breath = sosfilt(band, rng.standard_normal(int(0.3 * sr))) * np.hanning(int(0.3 * sr))
        start = int(0.2 * sr)
        gap[start: start + breath.size] = 0.03 * np.abs(y).max() * breath / np.abs(breath).max()
        parts.append(gap)
    dry = np.concatenate(parts)
    stereo = np.stack([dry, 0.9 * dry], axis=1).astype(np.float32)
    out = Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        d, w, n = Path(tmp) / "dry.wav", Path(tmp) / "wet.wav", Path(tmp) / "noise.wav"
        sf.write(d, 0.5 * stereo, sr)
        subprocess.run(["sox", "-q", str(d), str(w), "reverb", str(reverb)], check=True)
        seconds = sf.info(str(w)).duration
        subprocess.run(["sox", "-q", "-n", "-r", str(sr), "-c", "2", str(n), "synth", f"{seconds:.3f}", "pinknoise",
                        "vol", str(noise)], check=True)
        subprocess.run(["sox", "-q", "-m", str(w), str(n), "-b", "16", str(out)], check=True)
    return out
