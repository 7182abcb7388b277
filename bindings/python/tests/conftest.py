import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
GADGETS = Path(os.environ.get("GADGETRT_TEST_GADGETS", REPO / "tests" / "gadgets" / "out" / "go"))
NEEDED = ["demo", "fields", "dataarray", "params", "baderrptr", "config", "filtering", "dataemit"]


@pytest.fixture(scope="session")
def gadgets() -> Path:
    """Directory with the Go test gadgets; built with tests/gadgets/go/build.sh if missing."""
    missing = [n for n in NEEDED if not (GADGETS / f"{n}.wasm").is_file()]
    if missing:
        script = REPO / "tests" / "gadgets" / "go" / "build.sh"
        if not script.is_file() or not shutil.which(os.environ.get("GO", "go")) and not Path("/usr/local/go/bin/go").exists():
            pytest.skip(f"test gadgets {missing} missing and cannot be built")
        subprocess.run(["bash", str(script)], check=True, cwd=REPO)
    return GADGETS


@pytest.fixture
def rt():
    import gadgetrt

    with gadgetrt.Runtime() as r:
        yield r
