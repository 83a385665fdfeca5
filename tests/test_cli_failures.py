"""The command when the world fails it: a full disk, a reader that goes away, Ctrl-C while
the modules load, a huge declared image size, a killed earlier run's leftovers, a dangling
symlink at the output, and a cuda backend with no GPU behind it."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from .conftest import FIXTURES
from .test_cli import PHOTO, assert_clean_error, flowzip, no_temp_files

SMALL_FZ = FIXTURES / "v4" / "tiny-rgb-photo.fz"  # 48x40, one predictive tile: decodes in moments


def python_flowzip(prelude: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The command run by ``flowzip.cli.main`` after ``prelude`` (Python) has set the scene."""
    code = f"{prelude}\nimport sys\nfrom flowzip.cli import main\nsys.exit(main({list(args)!r}))"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, timeout=300)


@pytest.fixture
def small(tmp_path: Path) -> Path:
    shutil.copy(SMALL_FZ, tmp_path / "x.fz")
    return tmp_path


@pytest.mark.slow
def test_a_full_disk_is_named_not_blamed_on_png(small):
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "flowzip", "decompress", "-c", "x.fz"],
            cwd=small,
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=300,
        )
    assert_clean_error(proc, "No space left on device")
    assert b"cannot hold" not in proc.stderr
    # a file that may not grow past 1 KB (as a nearly full disk): the cause, and no temporary left
    limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))  # noqa: E731
    proc = subprocess.run(
        [sys.executable, "-m", "flowzip", "decompress", "x.fz"],
        cwd=small,
        capture_output=True,
        timeout=300,
        preexec_fn=limit,
    )
    assert_clean_error(proc, "x.png: cannot write (File too large)")
    assert not (small / "x.png").exists() and no_temp_files(small)


@pytest.mark.parametrize(
    "command", [("decompress", "-c", "x.fz"), ("info", "x.fz"), ("models", "--json")]
)
@pytest.mark.slow
def test_a_reader_that_goes_away_ends_the_command_quietly(small, command):
    reader, writer = os.pipe()
    os.close(reader)  # as `| head` does once it has what it wants
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "flowzip", *command],
            cwd=small,
            stdout=writer,
            stderr=subprocess.PIPE,
            timeout=300,
        )
    finally:
        os.close(writer)
    assert proc.returncode == 1 and proc.stderr == b"", proc.stderr.decode()


def test_ctrl_c_while_the_modules_load_is_one_line(small):
    # Ctrl-C arrives while torch is being imported (where the first seconds go)
    prelude = """
import sys
class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            raise KeyboardInterrupt
sys.meta_path.insert(0, CtrlC())"""
    proc = python_flowzip(prelude, "compress", "-c", str(PHOTO), cwd=small)
    assert proc.returncode == 130 and proc.stderr == b"flowzip: interrupted\n", proc.stderr.decode()


@pytest.mark.slow
def test_pillow_bomb_warning_adds_no_lines(small):
    # Pillow's limit lowered below this image's 96x80 (so that a tiny image is "huge"):
    # a warning between 1x and 2x the limit, its error past 2x
    Image.open(PHOTO).convert("RGB").save(small / "photo.jpg", quality=90)
    warn = "import PIL.Image; PIL.Image.MAX_IMAGE_PIXELS = 5000"
    proc = python_flowzip(warn, "compress", "photo.jpg", cwd=small)
    assert_clean_error(proc, "photo.jpg", "lossy")  # the one line the file deserves, no warning
    proc = python_flowzip(
        "import PIL.Image; PIL.Image.MAX_IMAGE_PIXELS = 1000", "compress", "photo.jpg", cwd=small
    )
    assert_clean_error(proc, "photo.jpg", "image too large")
    # decompress --rm reads the PNG back (48x40 = 1920 px) before removing the .fz
    proc = python_flowzip(
        "import PIL.Image; PIL.Image.MAX_IMAGE_PIXELS = 1500",
        "decompress",
        "--rm",
        "-q",
        "x.fz",
        cwd=small,
    )
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr.decode()
    assert (small / "x.png").exists() and not (small / "x.fz").exists()


@pytest.mark.slow
def test_a_killed_runs_temporary_is_removed_by_the_next_run(small):
    # killed (SIGKILL: no cleanup can run) after the image is written, before the rename
    kill_at_fsync = "import os, signal\nos.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)"
    proc = python_flowzip(kill_at_fsync, "decompress", "x.fz", cwd=small)
    assert proc.returncode == -9
    left = [p.name for p in small.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1 and left[0].startswith(".x.png.flowzip-"), left
    # a live run's temporary and another program's file of a similar name are not ours to remove
    live = small / left[0].replace(left[0].rsplit("-", 1)[1], f"{os.getpid()}.tmp")
    live.write_bytes(b"in progress")
    (small / ".x.png.123.tmp").write_bytes(b"someone else's")
    proc = flowzip("decompress", "x.fz", "-q", cwd=small)
    assert proc.returncode == 0, proc.stderr.decode()
    assert Image.open(small / "x.png").size == (48, 40)
    assert sorted(p.name for p in small.iterdir() if p.name.endswith(".tmp")) == sorted(
        [live.name, ".x.png.123.tmp"]
    )


@pytest.mark.slow
def test_a_dangling_symlink_at_the_output_is_kept_without_f(small):
    os.symlink("nowhere.png", small / "x.png")
    assert_clean_error(flowzip("decompress", "x.fz", cwd=small), "x.png already exists", "-f")
    assert os.readlink(small / "x.png") == "nowhere.png"
    assert flowzip("decompress", "x.fz", "-f", cwd=small).returncode == 0
    assert not (small / "x.png").is_symlink() and not (small / "nowhere.png").exists()
    assert Image.open(small / "x.png").size == (48, 40)


NO_CUDA_DRIVER = """
import ctypes
class NoDriver(ctypes.CDLL):  # as on a machine without an NVIDIA driver
    def __init__(self, name, *args, **kwargs):
        if "cuda" in str(name):
            raise OSError(f"{name}: cannot open shared object file")
        super().__init__(name, *args, **kwargs)
ctypes.CDLL = NoDriver"""


@pytest.mark.slow
def test_cuda_is_not_offered_without_a_gpu(small, monkeypatch):
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "0")
    version = python_flowzip(NO_CUDA_DRIVER, "--version", cwd=small)
    assert version.returncode == 0 and b"available: numba, reference)" in version.stdout, (
        version.stdout
    )
    models = python_flowzip(NO_CUDA_DRIVER, "models", cwd=small)
    assert models.returncode == 0 and "cuda" not in models.stdout.decode().splitlines()[-1], (
        models.stdout
    )
    proc = python_flowzip(
        NO_CUDA_DRIVER, "decompress", "--backend", "cuda", "-c", "x.fz", cwd=small
    )
    assert_clean_error(proc, "'cuda'", "available: numba, reference")
