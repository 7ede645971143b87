"""The raw-audio pitch classifier of seed 001: 1-D convolutions and average pooling on the
waveform, then a dense layer, predicting the MIDI pitch (128 classes)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from workbench.errors import ParameterError

__all__ = ["RawPitchCNN", "fit_pitch_cnn"]


class RawPitchCNN(nn.Module):
    """Conv1d(k) + ReLU + AvgPool(pool) per entry of ``channels``, then Dense(hidden) + Dense(classes).

    Shapes: ``(B, n_samples)`` waveforms -> ``(B, classes)`` logits. Each pooling divides the
    rate by ``pool``, so later kernels see lower frequencies at the same width.

    Parameters
    ----------
    n_samples : int, samples, keyword-only
        Length of every waveform.
    channels : sequence of int, keyword-only
        Output channels of each conv stage.
    kernel : int, samples, keyword-only
        Kernel width of every conv.
    pool : int, keyword-only
        Average-pooling factor after every conv.
    hidden : int, keyword-only
        Width of the dense layer.
    classes : int, keyword-only
        Output classes (MIDI pitches).
    """

    def __init__(self, *, n_samples: int = 64000, channels: Sequence[int] = (4, 8, 12, 16), kernel: int = 9, pool: int = 4,
                 hidden: int = 512, classes: int = 128):
        super().__init__()
        layers, c_in, n = [], 1, n_samples
        for c in channels:
            layers += [nn.Conv1d(c_in, c, kernel), nn.ReLU(), nn.AvgPool1d(pool)]
            n = (n - kernel + 1) // pool
            c_in = c
        if n <= 0:
            raise ParameterError(f"n_samples={n_samples} is too short for {len(channels)} conv/pool stages")
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c_in * n, hidden), nn.ReLU(), nn.Linear(hidden, classes))
        self.n_samples = n_samples

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pitch logits of waveforms.

        Parameters
        ----------
        x : torch.Tensor [shape=(B, n_samples)]
            Waveforms.

        Returns
        -------
        torch.Tensor [shape=(B, classes)]
            Logits.
        """
        return self.head(self.features(x[:, None, :]))


def fit_pitch_cnn(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, *,
                  epochs: int = 20, lr: float = 1e-3, batch_size: int = 32, seed: int = 0, progress: bool = True,
                  device: str = "cpu", **model_kw: object) -> dict:
    """Train on waveforms with integer pitch labels; score the test set each epoch.

    Parameters
    ----------
    X_train, X_test : np.ndarray [shape=(n, samples)]
        Waveforms, one length.
    y_train, y_test : np.ndarray [shape=(n,)]
        MIDI pitches, 0-127.
    epochs : int, keyword-only
        Passes over the training set.
    lr : float, keyword-only
        Adam's learning rate.
    batch_size : int, keyword-only
        Waveforms per step.
    seed : int, keyword-only
        Seed of the weights and the shuffling.
    progress : bool, keyword-only
        Show a progress bar.
    device : str, keyword-only
        Where the network trains (the waveforms are moved there once).
    **model_kw
        More :class:`RawPitchCNN` keywords (``n_samples`` comes from the data).

    Returns
    -------
    dict
        ``history`` (per epoch: train loss, train and test accuracy), ``test_predictions``,
        ``test_accuracy`` (the last epoch's), ``best_test_accuracy``, ``chance`` (majority test
        class), ``uniform_chance`` (1/128), ``seconds`` and ``parameters``.
    """
    from tqdm import tqdm

    torch.manual_seed(seed)
    Xtr = torch.as_tensor(np.asarray(X_train, np.float32), device=device)
    Xte = torch.as_tensor(np.asarray(X_test, np.float32), device=device)
    ytr = torch.as_tensor(y_train, dtype=torch.long, device=device)
    yte = torch.as_tensor(y_test, dtype=torch.long, device=device)
    model = RawPitchCNN(n_samples=Xtr.shape[1], **model_kw).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    history, t0 = [], time.perf_counter()

    def accuracy(X, y):
        model.eval()
        with torch.inference_mode():
            pred = torch.cat([model(X[i: i + 128]).argmax(1) for i in range(0, len(X), 128)])
        return float((pred == y).float().mean())

    for epoch in tqdm(range(epochs), desc="pitch cnn", unit="epoch", disable=not progress):
        model.train()
        perm = torch.randperm(len(Xtr), generator=g).to(device)
        total = 0.0
        for i in range(0, len(perm), batch_size):
            idx = perm[i: i + batch_size]
            loss = nn.functional.cross_entropy(model(Xtr[idx]), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        history.append({"epoch": epoch, "train_loss": total / len(Xtr), "train_accuracy": accuracy(Xtr, ytr),
                        "test_accuracy": accuracy(Xte, yte)})
    counts = np.bincount(np.asarray(y_test), minlength=1)
    model.eval()
    with torch.inference_mode():
        pred = torch.cat([model(Xte[i: i + 128]).argmax(1) for i in range(0, len(Xte), 128)])
    return {"history": history, "test_predictions": pred.cpu().numpy(), "test_accuracy": history[-1]["test_accuracy"],
            "best_test_accuracy": max(h["test_accuracy"] for h in history),
            "chance": float(counts.max() / counts.sum()), "uniform_chance": 1 / 128,
            "seconds": round(time.perf_counter() - t0, 1), "parameters": sum(p.numel() for p in model.parameters())}
