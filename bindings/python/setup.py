"""Builds the wheel with libgadgetrt.so inside (pyproject.toml holds the metadata).

`pip install ./bindings/python` (or `pip wheel`) runs `cargo build --release --lib` on the
repository this directory belongs to and copies the library into the package, next to
`_ffi.py`, which loads it by absolute path. The wheel is therefore platform-specific
(`py3-none-linux_<arch>`: ctypes, any CPython 3). Set CARGO to choose the cargo binary;
CARGO_TARGET_DIR and the usual cargo settings apply. GADGETRT_WHEEL_LIB=/path/to/libgadgetrt.so
bundles an already built library instead (packagers).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

try:  # setuptools >= 70.1 ships bdist_wheel itself
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LIB_NAME = "libgadgetrt.so"


def _cargo() -> str:
    c = os.environ.get("CARGO") or shutil.which("cargo")
    if c:
        return c
    home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo")) / "bin" / "cargo"
    if home.is_file():
        return str(home)
    raise RuntimeError("gadgetrt: cargo not found (install Rust or set CARGO=/path/to/cargo)")


def build_library() -> Path:
    """Builds libgadgetrt.so with cargo and returns its path."""
    prebuilt = os.environ.get("GADGETRT_WHEEL_LIB")
    if prebuilt:
        return Path(prebuilt)
    manifest = REPO / "Cargo.toml"
    if not manifest.is_file():
        raise RuntimeError(f"gadgetrt: {manifest} not found: build the wheel from a gadgetrt clone")
    cargo = _cargo()
    subprocess.run([cargo, "build", "--release", "--lib", "--manifest-path", str(manifest)], check=True)
    meta = subprocess.run(
        [cargo, "metadata", "--format-version", "1", "--no-deps", "--manifest-path", str(manifest)],
        check=True,
        capture_output=True,
    )
    return Path(json.loads(meta.stdout)["target_directory"]) / "release" / LIB_NAME


class BuildPyWithLibrary(build_py):
    def run(self):
        super().run()
        lib = build_library()
        dest = Path(self.build_lib) / "gadgetrt" / LIB_NAME
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(lib, dest)  # the file itself, not the SONAME link
        os.chmod(dest, 0o755)


class PlatformWheel(bdist_wheel):
    """A wheel for this platform (it carries a native library) but any Python 3 (ctypes)."""

    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel})
