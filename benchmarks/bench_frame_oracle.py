"""How much of the timbre gap a frame length allows (issue 25): the reference's own levels as a decoder.

A perfect harmonics decoder would give every frame the instrument's harmonic levels at the
frame's pitch. This applies exactly those (the reference notes' levels,
``HarmonicReference.profile``, loudest layer, clamped to the reference's range) to each levelled
input frame (``models.lstm_ae.flatten_harmonics`` and ``interp_harmonics``, nearest read, pitch by
``workbench.spectral.frame_f0_bins``), resynthesises with the input's phase and scores the result
with the timbre measure. What it cannot close is what the frame length takes away, whatever
the model.

Run: ``python benchmarks/bench_frame_oracle.py --reference data/materials/fluidr3/clarinet-reference
data/voice/spoken_000.wav`` (the references are rendered by ``benchmarks/bench_materials.py``).
"""

from __future__ import annotations

import argparse
import platform
from datetime import date
from pathlib import Path

import numpy as np
import torch

SR, HOP = 16000, 256
FRAMES = ((1024, 1024), (2048, 1024), (2048, 1536), (2048, 2048))  # (FFT size, window length)


def oracle(x: np.ndarray, reference, *, n_fft: int, win_length: int) -> np.ndarray:
    """``x`` (samples,) with each pitched frame given the reference's levels at its pitch."""
    from models.lstm_ae import flatten_harmonics, interp_harmonics, positions_from_f0
    from workbench.pitch import hz_to_midi
    from workbench.spectral import frame_f0_bins

    win = torch.hann_window(win_length)
    S = torch.stft(torch.from_numpy(x), n_fft, HOP, win_length=win_length, window=win, return_complex=True).T
    mag = S.abs()
    f0 = frame_f0_bins(mag)
    pos = positions_from_f0(f0, mag.shape[-1])
    top = mag.amax(-1, keepdim=True).clamp_min(1e-9)
    flat = flatten_harmonics(mag / top, pos, 32, mode="nearest")
    hz = f0.numpy() * SR / n_fft
    midi = np.where(hz > 0, hz_to_midi(np.maximum(hz, 1e-3)), 60.0)
    prof = np.nan_to_num(reference.profile(midi, layer=len(reference.layers_) - 1), nan=-60.0)  # (frames, H) dB
    values = np.concatenate([prof[:, :1], prof, np.repeat(prof[:, -1:], 33 - prof.shape[1], 1)], 1)
    out = flat * interp_harmonics(torch.from_numpy(10 ** (values / 20)).float(), pos, mode="nearest")
    out = torch.where((f0 > 0)[:, None], out * top, mag)
    return torch.istft((out * torch.exp(1j * S.angle())).T, n_fft, HOP, win_length=win_length, window=win,
                       length=x.size).numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+", help="voice files")
    ap.add_argument("--reference", required=True, help="reference notes (a folder from bench_materials)")
    args = ap.parse_args()
    from analysis.harmonic_levels import judged_frames
    from analysis.harmonic_timbre import gap_closed, target_reference
    from workbench.audio import load

    ref, floor = target_reference(args.reference, sr=SR, seed=0)
    print(f"# bench_frame_oracle  {date.today()}  {platform.machine()}  reference {args.reference} (floor {floor:.2f} dB)")
    print("| input | FFT / window | output dB | input dB | gap closed |\n|---|---|---|---|---|")
    for name in args.inputs:
        x = load(name, sr=SR, mono=True)[0][0]
        for n_fft, wl in FRAMES:
            jf = judged_frames(x, oracle(x, ref, n_fft=n_fft, win_length=wl), sr=SR, **ref.levels)
            ok = ~jf.pitch_error
            d_out = float(ref.frame_distances(jf.midi, jf.output_levels)[ok].mean())
            d_in = float(ref.frame_distances(jf.midi, jf.input_levels)[ok].mean())
            print(f"| {Path(name).stem} | {n_fft} / {wl} | {d_out:.2f} | {d_in:.2f} | {gap_closed(d_in, d_out, floor):.2f} |")


if __name__ == "__main__":
    main()
