"""Images by reference against a real registry on 127.0.0.1 (scripts/registry-fixture.sh:
Debian's docker-registry; the params gadget pushed by gadgetrt-pack, signed with
tests/fixtures/signing/test.key and unsigned): pull, list, load and run by reference,
signature verification, remove."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import gadgetrt
from gadgetrt import ImageOptions

REPO = Path(__file__).resolve().parents[3]
FIXTURE = REPO / "scripts" / "registry-fixture.sh"
KEYS = REPO / "tests" / "fixtures" / "signing"


def pack_tool() -> Path:
    """gadgetrt-pack: $GADGETRT_PACK, next to the library in use, or cargo's target directory."""
    if os.environ.get("GADGETRT_PACK"):
        return Path(os.environ["GADGETRT_PACK"])
    beside = Path(gadgetrt.LIB_PATH).resolve().parent / "gadgetrt-pack"
    if beside.exists():
        return beside
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps", "--manifest-path", str(REPO / "Cargo.toml")],
        check=True, capture_output=True, text=True,
    )
    return Path(json.loads(meta.stdout)["target_directory"]) / "release" / "gadgetrt-pack"


@pytest.fixture(scope="module")
def registry(tmp_path_factory, gadgets):
    d = tmp_path_factory.mktemp("registry")
    p = subprocess.run(
        ["bash", str(FIXTURE), "start", str(d), str(pack_tool()), str(gadgets / "params.wasm")],
        capture_output=True, text=True,
    )
    assert p.returncode == 0, p.stderr
    try:
        yield p.stdout.strip()
    finally:
        subprocess.run(["bash", str(FIXTURE), "stop", str(d)], check=False)


def test_pull_and_run_by_reference(registry, tmp_path, rt):
    signed, unsigned = f"{registry}/gadgets/signed:v1", f"{registry}/gadgets/unsigned:v1"
    opts = ImageOptions(store_dir=tmp_path, public_keys=[(KEYS / "test.pub").read_text()])
    digest = gadgetrt.pull_image(signed, opts)
    assert digest.startswith("sha256:") and len(digest) == 71
    assert [i["reference"] for i in gadgetrt.list_images(opts)] == [signed]
    assert gadgetrt.list_images(opts)[0]["digest"] == digest

    never = ImageOptions(store_dir=tmp_path, pull="never", public_keys=opts.public_keys)
    with rt.load_ref(signed, never) as g:
        g.set_param("param-key", "param-value")
        g.start()
        g.stop()

    # IG's key (the default) refuses the test signature; unsigned images need verify=False.
    with pytest.raises(gadgetrt.SignatureError, match="not signed by the provided keys"):
        rt.open_ref(signed, ImageOptions(store_dir=tmp_path))
    with pytest.raises(gadgetrt.SignatureError, match=f"no signature found for {unsigned}"):
        rt.open_ref(unsigned, opts)
    with rt.open_ref(unsigned, ImageOptions(store_dir=tmp_path, verify=False)):
        pass

    gadgetrt.remove_image(signed, opts)
    with pytest.raises(gadgetrt.NotFoundError):
        gadgetrt.remove_image(signed, opts)
    with pytest.raises(gadgetrt.NotFoundError, match="not in the local store"):
        rt.open_ref(signed, never)
    with pytest.raises(ValueError):
        rt.open_ref(signed, ImageOptions(pull="sometimes"))
