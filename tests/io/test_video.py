"""The video reader and writer: metadata, exact random access, batches, damaged files."""

from __future__ import annotations

import struct
import warnings

import cv2
import numpy as np
import pytest

from poselab.io.video import Batch, VideoError, VideoInfo, VideoReader, open_video, write_video

W, H = 64, 48
BLOCK = 8  # bit b of the frame index is a white 8x16 block in column b


def _coded(i: int) -> np.ndarray:
    """A frame whose index is written in big pixel blocks (readable despite compression)."""
    frame = np.zeros((H, W, 3), np.uint8)
    for b in range(W // BLOCK):
        if (i >> b) & 1:
            frame[:16, b * BLOCK:(b + 1) * BLOCK] = 255
    frame[24:, :, 0] = (i * 37) % 256
    frame[24:, :, 2] = 255 - (i * 11) % 256
    return frame


def _decode(frame: np.ndarray) -> int:
    bits = frame[4:12, :, :].reshape(8, W // BLOCK, BLOCK, 3)[:, :, 2:6].mean(axis=(0, 2, 3)) > 128
    return int(np.sum(bits << np.arange(len(bits))))


def _noise(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield rng.integers(0, 256, (H, W, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("video") / "clip.mp4", (_coded(i) for i in range(120)), fps=25.0)


def _sequential(path, wanted=None) -> dict[int, np.ndarray]:
    """Reference frames decoded with plain OpenCV, one pass, RGB."""
    cap = cv2.VideoCapture(str(path))
    out, i = {}, 0
    while cap.grab():
        if wanted is None or i in wanted:
            out[i] = cap.retrieve()[1][..., ::-1]
        i += 1
    cap.release()
    return out


def test_metadata_and_write(clip):
    with open_video(clip) as reader:
        info = reader.info
        assert isinstance(info, VideoInfo)
        assert (info.width, info.height, info.n_frames, info.reported_frames) == (W, H, 120, 120)
        assert info.fps == pytest.approx(25.0) and info.duration_s == pytest.approx(120 / 25.0)
        assert info.codec in ("mp4v", "FMP4") and info.path == clip and len(reader) == 120
        frame = reader.read(7)
        assert frame.dtype == np.uint8 and frame.shape == (H, W, 3)
    # RGB order: a red frame reads back red.
    red = write_video(clip.with_name("red.avi"), [np.full((H, W, 3), (255, 0, 0), np.uint8)] * 3, 10,
                      codec="MJPG")
    with open_video(red) as reader:
        assert np.abs(reader.read(1).astype(int) - (255, 0, 0)).max() <= 3
    # The temporary file never stays behind.
    assert sorted(p.name for p in clip.parent.iterdir()) == ["clip.mp4", "red.avi"]


def test_random_access_is_exact(clip):
    reference = _sequential(clip)
    assert [_decode(reference[i]) for i in range(120)] == list(range(120))
    order = np.random.default_rng(0).permutation(120)
    with open_video(clip) as reader:
        for i in order[:60]:
            np.testing.assert_array_equal(reader.read(int(i)), reference[int(i)])
        for i in (119, 0, 118, 1, 64, 63):  # backwards, to the ends, across the forward limit
            np.testing.assert_array_equal(reader.read(i), reference[i])
        with pytest.raises(VideoError, match="out of range.*120 frames"):
            reader.read(120)
        with pytest.raises(VideoError, match="out of range"):
            reader.read(-1)
        with pytest.raises(VideoError, match="integer"):
            reader.read(1.5)


def test_iter_frames_and_batches(clip):
    reference = _sequential(clip)
    with open_video(clip) as reader:
        got = list(reader.iter_frames(10, 40, 3))
        assert [i for i, _ in got] == list(range(10, 40, 3))
        for i, frame in got:
            np.testing.assert_array_equal(frame, reference[i])
        assert [i for i, _ in reader.iter_frames(100, 500, 70)] == [100]  # stop clipped at the end
        assert [i for i, _ in reader.iter_frames_at([90, 3, 3, 50])] == [3, 50, 90]
        batches = list(reader.iter_batches(32))
        assert all(isinstance(b, Batch) for b in batches)
        assert [len(b.indices) for b in batches] == [32, 32, 32, 24]
        indices = np.concatenate([b.indices for b in batches])
        np.testing.assert_array_equal(indices, np.arange(120))  # every frame exactly once
        assert indices.dtype == np.int64 and all(b.valid.all() for b in batches)
        frames = np.concatenate([b.frames for b in batches])
        assert frames.shape == (120, H, W, 3) and frames.dtype == np.uint8
        np.testing.assert_array_equal(frames, np.stack([reference[i] for i in range(120)]))
        part = list(reader.iter_batches(50, start=100, stop=110))
        np.testing.assert_array_equal(part[0].indices, np.arange(100, 110))
        assert reader.bad_frames == []
        with pytest.raises(VideoError, match="batch_size"):
            next(reader.iter_batches(0))


def test_missing_empty_and_random_files(tmp_path):
    with pytest.raises(VideoError, match="not found.*nothing.mp4"):
        open_video(tmp_path / "nothing.mp4")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        open_video(empty)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoError, match="cannot open .*junk.mp4 as a video"):
        open_video(junk)
    with pytest.raises(VideoError, match="folder"):
        open_video(tmp_path)


def test_write_video_refusals(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(VideoError, match="no frames"):
        write_video(target, [], 30)
    with pytest.raises(VideoError, match="same size"):
        write_video(target, [np.zeros((48, 64, 3), np.uint8), np.zeros((40, 64, 3), np.uint8)], 30)
    with pytest.raises(VideoError, match="uint8"):
        write_video(target, [np.zeros((48, 64, 3))], 30)
    with pytest.raises(VideoError, match="fps"):
        write_video(target, [np.zeros((48, 64, 3), np.uint8)], 0)
    with pytest.raises(VideoError, match="cannot write"):
        write_video(tmp_path / "out.nosuchcontainer", [np.zeros((48, 64, 3), np.uint8)], 30)
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def _faststart(data: bytes) -> bytes:
    """Move an mp4's index (``moov``) before its data, as cameras and ``-movflags faststart`` do."""

    def boxes(buf, start, end):
        pos = start
        while pos + 8 <= end:
            size, kind = struct.unpack(">I4s", buf[pos:pos + 8])
            header = 8
            if size == 1:
                size, header = struct.unpack(">Q", buf[pos + 8:pos + 16])[0], 16
            elif size == 0:
                size = end - pos
            yield kind, pos, header, size
            pos += size

    top = list(boxes(data, 0, len(data)))
    _, moov_at, _, moov_size = next(b for b in top if b[0] == b"moov")
    mdat_at = next(b for b in top if b[0] == b"mdat")[1]
    assert mdat_at < moov_at
    moov = bytearray(data[moov_at:moov_at + moov_size])

    def patch(start, end):  # chunk offsets move by the size of the index
        for kind, pos, header, size in boxes(moov, start, end):
            if kind in (b"trak", b"mdia", b"minf", b"stbl"):
                patch(pos + header, pos + size)
            elif kind in (b"stco", b"co64"):
                fmt, width = (">I", 4) if kind == b"stco" else (">Q", 8)
                count = struct.unpack(">I", moov[pos + header + 4:pos + header + 8])[0]
                for k in range(count):
                    at = pos + header + 8 + k * width
                    moov[at:at + width] = struct.pack(fmt, struct.unpack(fmt, moov[at:at + width])[0] + moov_size)

    patch(8, moov_size)
    rest = data[:moov_at] + data[moov_at + moov_size:]
    return rest[:mdat_at] + bytes(moov) + rest[mdat_at:]


def _iterate_everything(path) -> tuple[VideoReader, int, int, list]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reader = open_video(path)
        n_iter = sum(1 for _ in reader.iter_frames())
        batches = list(reader.iter_batches(16))
    n_batch = sum(len(b.indices) for b in batches)
    assert n_batch == len(reader)
    assert sorted(np.concatenate([b.indices[~b.valid] for b in batches]).tolist()) == reader.bad_frames
    return reader, n_iter, n_batch, caught


def test_truncated_mp4(tmp_path):
    full = write_video(tmp_path / "full.mp4", _noise(100), 30)
    data = full.read_bytes()
    # As OpenCV writes it, the index is at the end: cut, the file has no index left.
    (tmp_path / "cut.mp4").write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(VideoError, match="cannot open"):
        open_video(tmp_path / "cut.mp4")
    # With the index first (the usual camera layout), the index promises 100 frames, the data holds fewer.
    fast = _faststart(data)
    (tmp_path / "fast.mp4").write_bytes(fast)
    (tmp_path / "fastcut.mp4").write_bytes(fast[: int(len(fast) * 0.6)])
    reference = _sequential(full)
    with open_video(tmp_path / "fast.mp4") as reader:  # the rewrite itself is faithful
        assert len(reader) == 100
        np.testing.assert_array_equal(reader.read(77), reference[77])
    reader, n_iter, n_batch, caught = _iterate_everything(tmp_path / "fastcut.mp4")
    assert reader.info.reported_frames == 100
    assert len(reader) < 100 or reader.bad_frames  # fewer frames, or the missing ones reported
    assert n_iter + len(reader.bad_frames) == len(reader) == n_batch
    assert (len(caught) >= 1) == bool(reader.bad_frames)
    # What is there is the recorded video (the last, partly stored frame may differ).
    for i in range(0, len(reader) - 1, 7):
        if i not in reader.bad_frames:
            np.testing.assert_array_equal(reader.read(i), reference[i])
    reader.close()


def test_truncated_avi_reports_its_true_length(tmp_path):
    full = write_video(tmp_path / "full.avi", (_coded(i) for i in range(150)), 30, codec="MJPG")
    data = full.read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[: int(len(data) * 0.6)])
    reader, n_iter, n_batch, _ = _iterate_everything(tmp_path / "cut.avi")
    assert reader.info.reported_frames == 150 and 0 < len(reader) < 150
    assert n_iter + len(reader.bad_frames) == len(reader)
    reference = _sequential(tmp_path / "cut.avi")
    assert len(reference) == len(reader)
    for i in np.random.default_rng(2).permutation(len(reader) - 1)[:25]:
        np.testing.assert_array_equal(reader.read(int(i)), reference[int(i)])
        assert _decode(reader.read(int(i))) == i
    reader.close()


@pytest.mark.parametrize("claimed", [60, 250, 0])
def test_misreported_frame_count(tmp_path, claimed):
    path = write_video(tmp_path / "clip.avi", (_coded(i) for i in range(100)), 30, codec="MJPG")
    data = bytearray(path.read_bytes())
    # AVI headers: 'avih' dwTotalFrames (5th field) and the video stream's 'strh' dwLength (9th field).
    avih, strh = data.find(b"avih"), data.find(b"strh")
    assert data[strh + 8:strh + 12] == b"vids"
    data[avih + 24:avih + 28] = struct.pack("<I", claimed)
    data[strh + 40:strh + 44] = struct.pack("<I", claimed)
    path.write_bytes(bytes(data))
    with open_video(path) as reader:
        assert reader.info.reported_frames == claimed
        assert reader.info.n_frames == len(reader) == 100
        assert [i for i, _ in reader.iter_frames()] == list(range(100))
        assert _decode(reader.read(99)) == 99 and _decode(reader.read(70)) == 70
        with pytest.raises(VideoError, match="out of range"):
            reader.read(100)


def test_real_video_random_access_equals_sequential(shared_data):
    path = shared_data / "openfield-Pranav-2018-10-30" / "videos" / "m3v1mp4.mp4"
    sample = np.sort(np.random.default_rng(0).choice(np.arange(1, 2329), 18, replace=False))
    sample = np.concatenate([[0], sample, [2329]])
    reference = _sequential(path, set(sample.tolist()))
    with open_video(path) as reader:
        info = reader.info
        assert (info.width, info.height, info.n_frames, info.reported_frames) == (640, 480, 2330, 2330)
        assert info.fps == pytest.approx(30.0, abs=1e-3) and info.codec == "h264"
        for i in np.random.default_rng(1).permutation(sample):
            np.testing.assert_array_equal(reader.read(int(i)), reference[int(i)])
        batch = next(reader.iter_batches(8, start=2325))
        np.testing.assert_array_equal(batch.indices, np.arange(2325, 2330))
        np.testing.assert_array_equal(batch.frames[-1], reference[2329])
        assert batch.valid.all() and reader.bad_frames == []


def _damage_avi_frames(path, frames, claimed=None) -> None:
    """Zero the JPEG data of some frames of an MJPG AVI (and optionally patch its claimed length)."""
    data = bytearray(path.read_bytes())
    at = data.find(b"movi") + 4
    chunks = []
    while data[at:at + 4] == b"00dc":
        size = struct.unpack("<I", data[at + 4:at + 8])[0]
        chunks.append((at + 8, size))
        at += 8 + size + (size & 1)
    for f in frames:
        start, size = chunks[f]
        data[start:start + size] = bytes(size)
    if claimed is not None:
        avih, strh = data.find(b"avih"), data.find(b"strh")
        data[avih + 24:avih + 28] = struct.pack("<I", claimed)
        data[strh + 40:strh + 44] = struct.pack("<I", claimed)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("claimed", [None, 0])
def test_damaged_frames_are_reported_not_fatal(tmp_path, claimed):
    path = write_video(tmp_path / "clip.avi", (_coded(i) for i in range(100)), 30, codec="MJPG")
    _damage_avi_frames(path, [40, 41, 77], claimed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reader = open_video(path)
        assert len(reader) == 100  # damaged frames still count: later frames keep their indices
        got = list(reader.iter_frames())
        assert [i for i, _ in got] == sorted(set(range(100)) - {40, 41, 77})
        assert all(_decode(frame) == i for i, frame in got)
        assert reader.bad_frames == [40, 41, 77]
        assert len(caught) == 1 and "reader.bad_frames" in str(caught[0].message)
        batches = list(reader.iter_batches(32))
    valid = np.concatenate([b.valid for b in batches])
    np.testing.assert_array_equal(np.flatnonzero(~valid), [40, 41, 77])
    assert not batches[1].frames[40 - 32].any() and not batches[2].frames[77 - 64].any()
    for i in (78, 39, 99, 42, 5, 60):  # random access across the damage
        assert _decode(reader.read(i)) == i
    with pytest.raises(VideoError, match="frame 41 .* cannot be decoded"):
        reader.read(41)
    reader.close()
    with pytest.raises(VideoError, match="closed"):
        reader.read(0)
