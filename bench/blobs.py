"""Blob-store benchmark: put and verify throughput, thumbnail time per kind (not a test).

    .venv/bin/python -m bench.blobs [--dir D] [--s3] [--rounds N]

Puts distinct random files of 1 MB and 10 MB (each put: read, hash, fsync, link; a duplicate
put also reads the stored file back), then verifies them (read and hash), on a directory store
(a temporary directory, or ``--dir``) and, with ``--s3``, on moto's S3 emulator (an in-memory
emulator on this machine: its figures say what the client costs, not what a real service
does). Then the time to make one thumbnail of a 12-megapixel photo as JPEG, PNG, WebP and HEIC,
and of a PDF's first page.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from activities.blobs import BlobStore, DirectoryBlobStore
from activities.blobs.thumbnails import render_thumbnail
from bench.common import report

MB = 1_000_000
HEIC_SAMPLE = Path(__file__).parent / "samples" / "phone-4032x3024.heic"


def _put_and_verify(store: BlobStore, label: str, size: int, count: int) -> None:
    files = [os.urandom(size) for _ in range(count)]
    started = time.perf_counter()
    stored = [store.put(io.BytesIO(data)) for data in files]
    put_s = time.perf_counter() - started
    started = time.perf_counter()
    checks = [store.verify(s.sha256, s.size) for s in stored]
    verify_s = time.perf_counter() - started
    assert all(c.ok for c in checks)
    started = time.perf_counter()
    store.put(io.BytesIO(files[0]))
    again_ms = (time.perf_counter() - started) * 1000
    total_mb = size * count / MB
    mb = size // MB
    report(f"{label}: put {mb} MB files ({count})", total_mb / put_s, "MB/s")
    report(f"{label}: put {mb} MB files", count / put_s, "files/s")
    report(f"{label}: verify {mb} MB files", total_mb / verify_s, "MB/s")
    report(f"{label}: put of {mb} MB already stored", again_ms, "ms")


def _photo(width: int = 4032, height: int = 3024) -> Image.Image:
    """A 12-megapixel picture with detail (noise over gradients), so encoders work."""
    r = Image.linear_gradient("L").resize((width, height))
    g = Image.effect_noise((width, height), 64)
    b = Image.radial_gradient("L").resize((width, height))
    return Image.merge("RGB", (r, g, b))


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _time_thumbnail(label: str, data: bytes, rounds: int) -> None:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        render_thumbnail(data)
        times.append((time.perf_counter() - started) * 1000)
    report(
        f"thumbnail 256 px: {label} ({len(data) / 1000:,.0f} kB)", statistics.median(times), "ms"
    )


def _thumbnails(rounds: int) -> None:
    photo = _photo()
    kinds: list[tuple[str, Callable[[], bytes]]] = [
        ("JPEG 4032×3024", lambda: _encoded(photo, "JPEG", quality=90)),
        ("PNG 4032×3024", lambda: _encoded(photo, "PNG")),
        ("WebP 4032×3024", lambda: _encoded(photo, "WEBP", quality=80)),
        ("HEIC 4032×3024", HEIC_SAMPLE.read_bytes),
        ("PDF A4 page, 1 photo", lambda: _encoded(photo, "PDF", resolution=300.0)),
    ]
    for label, make in kinds:
        _time_thumbnail(label, make(), rounds)


def _moto_s3() -> tuple[subprocess.Popen[bytes], BlobStore]:
    from tests.blobs.conftest import _free_port, make_s3_store

    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(3)
    return process, make_s3_store(f"http://127.0.0.1:{port}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, help="directory for the store (default: a temp dir)")
    parser.add_argument("--s3", action="store_true", help="also on moto's S3 emulator")
    parser.add_argument("--rounds", type=int, default=5, help="thumbnail rounds (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="duban-bench-blobs-", dir=args.dir) as tmp:
        print(f"# directory store in {tmp}")
        store = DirectoryBlobStore(Path(tmp) / "blobs")
        _put_and_verify(store, "directory", 1 * MB, 50)
        _put_and_verify(store, "directory", 10 * MB, 10)
    if args.s3:
        process, s3 = _moto_s3()
        try:
            _put_and_verify(s3, "s3 (moto)", 1 * MB, 20)
            _put_and_verify(s3, "s3 (moto)", 10 * MB, 5)
        finally:
            process.terminate()
            process.wait()
    _thumbnails(args.rounds)


if __name__ == "__main__":
    main()
