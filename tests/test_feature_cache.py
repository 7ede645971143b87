"""Corpus-scale features: shards cached by content, resumed after a failure, equal on a real
local Ray (a head and two worker processes started here) and in this process."""

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from analysis.feature_cache import cached_features, content_hash
from analysis.features import MFCCStats, ScatteringStats
from analysis.parallel import Compute, collect
from workbench.errors import ParameterError

SR = 16000


def _notes(folder, n=7, seconds=0.3, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        f0 = rng.uniform(100, 800)
        y = sum(rng.uniform(0.1, 0.5) / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6)).astype(np.float32)
        p = folder / f"note{i}.wav"
        sf.write(p, y, SR, subtype="FLOAT")
        paths.append(p)
    return paths


def _square(x):
    return x * x


def test_shards_resume_and_follow_content(tmp_path):
    paths = _notes(tmp_path / "a")
    cache = tmp_path / "cache"
    whole, info = cached_features(MFCCStats(n_mfcc=13), paths, cache_dir=cache, sr=SR, shard_size=3)
    assert info["shards"] == 3 and info["cached_shards"] == 0 and whole.shape[0] == 7
    one, _ = cached_features(MFCCStats(n_mfcc=13), paths[:1], cache_dir=tmp_path / "c1", sr=SR)
    np.testing.assert_allclose(whole[:1], one, rtol=1e-5, atol=1e-6)  # shards change nothing
    shards = sorted((cache).rglob("*.npy"))
    shards[1].unlink()  # as if killed before that shard was written
    again, info = cached_features(MFCCStats(n_mfcc=13), paths, cache_dir=cache, sr=SR, shard_size=3)
    assert info["cached_shards"] == 2 and not info["cached"]
    np.testing.assert_array_equal(again, whole)
    # the same notes elsewhere (a copy, other names) are the same notes
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path / "a", copy)
    moved = [copy / p.name for p in paths]
    _, info = cached_features(MFCCStats(n_mfcc=13), moved, cache_dir=cache, sr=SR, shard_size=3)
    assert info["cached"] and info["seconds"] == 0.0
    assert content_hash(moved[0]) == content_hash(paths[0]) != content_hash(paths[1])
    assert not list(cache.rglob("*.part")) and not list(cache.rglob("*.pkl"))


def test_a_failing_shard_keeps_the_finished_ones(tmp_path):
    paths = _notes(tmp_path / "a", n=6)
    good = paths[4].read_bytes()
    paths[4].write_bytes(b"RIFF not really a wave file")
    cache = tmp_path / "cache"
    with pytest.raises(ParameterError):
        cached_features(MFCCStats(n_mfcc=13), paths, cache_dir=cache, sr=SR, shard_size=2)
    assert len(list(cache.rglob("*.npy"))) == 2  # the two shards before the bad note
    paths[4].write_bytes(good)
    F, info = cached_features(MFCCStats(n_mfcc=13), paths, cache_dir=cache, sr=SR, shard_size=2)
    assert info["cached_shards"] == 2 and F.shape[0] == 6


def test_full_disk_is_one_line_and_leaves_nothing_half(tmp_path):
    disk = tmp_path / "small"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        paths = _notes(tmp_path / "a", n=40)
        with pytest.raises(ParameterError, match=r"feature cache .* is full .*expected free space"):
            cached_features(ScatteringStats(J=4, Q=4, log2_length=12), paths, cache_dir=disk, sr=SR, shard_size=8)
        assert not list(disk.rglob("*.part"))
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_bad_compute_settings():
    with pytest.raises(ParameterError, match="--workers -1 is not valid"):
        Compute(workers=-1)
    with pytest.raises(ParameterError, match=r"--ray-address '127.0.0.1:9' could not be reached .*expected a running Ray"):
        collect(_square, [1, 2], compute=Compute(ray_address="127.0.0.1:9"), progress=False)


def test_local_ray_equals_one_process(tmp_path):
    ray = pytest.importorskip("ray")
    paths = _notes(tmp_path / "a", n=9)
    alone, _ = cached_features(MFCCStats(n_mfcc=13), paths, cache_dir=tmp_path / "one", sr=SR, shard_size=3)
    try:
        assert collect(_square, range(5), compute=Compute(workers=2), progress=False) == [0, 1, 4, 9, 16]
        on_ray, info = cached_features(MFCCStats(n_mfcc=13), paths, cache_dir=tmp_path / "ray", sr=SR, shard_size=3,
                                       compute=Compute(workers=2))
        assert ray.is_initialized() and ray.cluster_resources().get("CPU") == 2
    finally:
        ray.shutdown()
    assert info["shards"] == 3
    np.testing.assert_array_equal(on_ray, alone)
