"""Library discovery and the ABI check at import (run in subprocesses)."""

import os
import subprocess
import sys

import gadgetrt


def _import_with(env_extra: dict) -> subprocess.CompletedProcess:
    env = dict(os.environ, **env_extra)
    return subprocess.run(
        [sys.executable, "-c", "import gadgetrt; print(gadgetrt.LIB_PATH)"],
        env=env,
        capture_output=True,
        text=True,
    )


def test_env_override_is_used():
    r = _import_with({"GADGETRT_LIB": str(gadgetrt.LIB_PATH)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(gadgetrt.LIB_PATH)
    r = _import_with({"GADGETRT_LIB": str(gadgetrt.LIB_PATH.parent)})  # a directory works too
    assert r.returncode == 0, r.stderr


def test_missing_library_is_a_clear_import_error():
    r = _import_with({"GADGETRT_LIB": "/nonexistent/libgadgetrt.so"})
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "cannot find libgadgetrt.so" in r.stderr


def test_foreign_library_fails_abi_check():
    import ctypes.util

    libc = ctypes.util.find_library("c")
    path = next(p for p in ("/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib64/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6") if os.path.exists(p)) if libc else None
    if path is None:
        return
    r = _import_with({"GADGETRT_LIB": path})
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "grt_abi_version" in r.stderr


def test_wrong_abi_version_is_rejected(tmp_path):
    import shutil

    import pytest

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    src = tmp_path / "fake.c"
    src.write_text("unsigned int grt_abi_version(void) { return 2; }\n")
    so = tmp_path / "libgadgetrt.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
    r = _import_with({"GADGETRT_LIB": str(so)})
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "C ABI version 2" in r.stderr
