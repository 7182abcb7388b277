"""Containers supplied by the embedder (Runtime.add_container / remove_container) with
discovery off: a gadget whose gadget.yaml enables the ``containers`` data source reports the
container. The "container" is this process, so neither root nor a container runtime is needed."""

import os

import pytest

import gadgetrt


def test_add_and_remove_container(gadgets, tmp_path):
    name = f"py-test-{os.getpid()}"
    with gadgetrt.Runtime(disable_container_discovery=True) as rt:
        with pytest.raises(gadgetrt.InvalidArgumentError):
            rt.add_container("", name=name, pid=os.getpid())
        with pytest.raises(gadgetrt.InvalidArgumentError):
            rt.add_container("x", name=name, pid=os.getpid(), k8s_pod_labels={"bad,key": "v"})
        rt.add_container(
            "py-id", name=name, runtime="py-agent", pid=os.getpid(),
            k8s_namespace="ns", k8s_pod="pod", k8s_container="app", k8s_pod_labels={"app": "web"},
        )
        (tmp_path / "program.wasm").symlink_to(gadgets / "demo.wasm")
        (tmp_path / "gadget.yaml").write_text("name: demo\nannotations:\n  enable-containers-datasource: true\n")
        got = []
        with rt.load_path(tmp_path) as g:
            g.set_param("containername", name)
            g.subscribe("containers", lambda e: got.append((e.get_str("event_type"), e.get_str("name"), e["mntns_id"])))
            g.start()
            for _ in range(100):
                if got:
                    break
                g.poll(0.02)
            assert got and got[0][:2] == ("CREATED", name), got
            assert got[0][2] == os.stat("/proc/self/ns/mnt").st_ino
            rt.remove_container("py-id")
            with pytest.raises(gadgetrt.NotFoundError):
                rt.remove_container("py-id")
            for _ in range(100):
                if len(got) > 1:
                    break
                g.poll(0.02)
            assert got[-1][:2] == ("DELETED", name), got
            g.stop()


def test_container_discovery_option():
    gadgetrt.set_container_discovery_option("runtimes", "docker,containerd")
    with pytest.raises(gadgetrt.ParamError):
        gadgetrt.set_container_discovery_option("runtimes", "nosuchruntime")
    with pytest.raises(gadgetrt.ParamError):
        gadgetrt.set_container_discovery_option("no-such-option", "x")
    gadgetrt.set_container_discovery_option("runtimes", "")  # back to the default
