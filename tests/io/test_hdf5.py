"""poselab.io.hdf5: chunks inflated in threads give exactly what h5py reads."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from poselab.io.hdf5 import read_dataset, reads_in_parallel


def values(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(100, 50, size=shape)
    if np.dtype(dtype).kind == "f":
        a[rng.random(shape) < 0.1] = np.nan  # unknown points, as pose files have
    return a.astype(dtype)


@pytest.mark.parametrize("dtype", ["<f8", ">f8", "<f4", "uint8", "<i2"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_parallel_read_equals_h5py(tmp_path, dtype, shuffle):
    # SLEAP's layout (track, xy, node, frame), frames not a multiple of the chunk length
    shape = (3, 2, 12, 50_001) if np.dtype(dtype).itemsize > 1 else (3, 2, 12, 200_003)
    a = values(shape, dtype)
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f.create_dataset("tracks", data=a, compression="gzip", compression_opts=4, shuffle=shuffle,
                         chunks=(1, 2, 12, 4096))
    with h5py.File(tmp_path / "f.h5", "r") as f:
        assert reads_in_parallel(f["tracks"])
        for workers in (1, 3):
            out = read_dataset(f["tracks"], workers=workers)
            assert out.dtype == f["tracks"].dtype and out.shape == shape
            np.testing.assert_array_equal(out, f["tracks"][()])


def test_parallel_read_with_a_user_block(tmp_path):
    a = values((2, 700_000), "<f8")
    with h5py.File(tmp_path / "f.h5", "w", userblock_size=512) as f:
        f.create_dataset("x", data=a, compression="gzip", chunks=(1, 65_536))
    with h5py.File(tmp_path / "f.h5", "r") as f:
        assert f.userblock_size == 512 and reads_in_parallel(f["x"])
        np.testing.assert_array_equal(read_dataset(f["x"]), a)


def test_other_layouts_are_read_by_h5py(tmp_path):
    big = values((4, 400_000), "<f4")
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f.create_dataset("contiguous", data=big)
        f.create_dataset("lzf", data=big, compression="lzf", chunks=(1, 100_000))
        f.create_dataset("small", data=big[:, :1000], compression="gzip")
        f.create_dataset("checksummed", data=big, compression="gzip", fletcher32=True, chunks=(1, 100_000))
        sparse = f.create_dataset("unwritten", shape=big.shape, dtype="<f4", compression="gzip",
                                  chunks=(1, 100_000), fillvalue=-1.0)
        sparse[0] = big[0]  # the other chunks were never written: they read as the fill value
    with h5py.File(tmp_path / "f.h5", "r") as f:
        for name in ("contiguous", "lzf", "small", "checksummed", "unwritten"):
            assert not reads_in_parallel(f[name]), name
            np.testing.assert_array_equal(read_dataset(f[name]), f[name][()])
        assert (read_dataset(f["unwritten"])[1:] == -1.0).all()
