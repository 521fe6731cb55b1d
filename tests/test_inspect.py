"""``hubscope inspect``: one image from an OCI layout, a docker-save archive or a real registry, no Spark.

The image, by hand (no directory entries in the tars, so every path below is a leaf):
  layer 0: /etc/a = 1,000 B ("A"), /bin/tool = 3,000 B ("T")
  layer 1: /etc/a = 500 B ("B"), /app/copy = 3,000 B ("T", the same content as /bin/tool)
  layer 2: /etc/a = 200 B ("C")
dive: /etc/a is visited in 3 layers, cumulative 1,700 B, min 200 B -> wasted 1,700 B;
efficiency = (200 + 3,000 + 3,000) / (1,700 + 3,000 + 3,000) = 6,200 / 7,700; image 7,700 B,
user (above layer 0) 3,700 B, so wasted is 1,700 / 3,700 of it. One content is stored twice
(3,000 extra bytes); five regular files of 7,700 B.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from hubscope.cli import main
from hubscope.demo.localregistry import LocalRegistry, skopeo_copy
from hubscope.demo.oci_layout import OciLayout, docker_archive
from hubscope.inspect_command import EXIT_CHECK_FAILED

LAYERS = [
    {"etc/a": b"A" * 1000, "bin/tool": b"T" * 3000},
    {"etc/a": b"B" * 500, "app/copy": b"T" * 3000},
    {"etc/a": b"C" * 200},
]


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    root = tmp_path_factory.mktemp("inspect") / "layout"
    oci = OciLayout(str(root))
    oci.tag(oci.image(LAYERS, created_by=["base", "RUN write a and copy", "RUN rewrite a"]), "v1")
    oci.save()
    return str(root)


def _inspect(*args):
    return CliRunner().invoke(main, ["inspect", *args])


def _check(doc):
    assert doc["schema"] == "hubscope.inspect/v1"
    assert [layer["files"] for layer in doc["layers"]] == [2, 2, 1]
    assert doc["totals"]["files"] == 5 and doc["totals"]["file_bytes"] == 7700
    dive = doc["dive"]
    assert dive["efficiency"] == pytest.approx(6200 / 7700)
    assert (dive["wasted_bytes"], dive["image_bytes"], dive["user_bytes"]) == (1700, 7700, 3700)
    assert dive["wasted_user_percent"] == pytest.approx(1700 / 3700)
    assert [(p["path"], p["count"]) for p in dive["inefficient_paths"]] == [("/etc/a", 3)]
    assert doc["duplicates"] == {"contents": 1, "extra_copies": 1, "extra_bytes": 3000}
    assert [f["path"] for f in doc["largest_files"][:3]] == ["/app/copy", "/bin/tool", "/etc/a"]
    assert sum(t["files"] for t in doc["file_types"]) == 5


def test_inspect_an_oci_layout_as_json(layout):
    result = _inspect(layout, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    _check(doc)
    assert doc["layers"][1]["created_by"] == "RUN write a and copy"
    assert doc["checks"] == {"failed": [], "passed": True}


def test_inspect_a_docker_archive_as_a_table(tmp_path):
    archive = tmp_path / "image.tar"
    docker_archive(str(archive), "demo/x:v1", LAYERS)
    result = _inspect(str(archive))
    assert result.exit_code == 0, result.output
    assert "image demo/x:v1 (docker-archive" in result.output
    assert "dive: efficiency 80.52 %, wasted 1.7 KiB (45.9 % of the 3.6 KiB above the base layer)" in result.output
    assert "duplicates: 1 contents stored more than once; 1 extra copies, 2.9 KiB" in result.output


@pytest.mark.parametrize("args, fails", [
    (["--fail-on-efficiency", "0.9"], True),  # 80.5 % < 90 %
    (["--fail-on-efficiency", "0.8"], False),
    (["--fail-on-waste", "1699"], True),  # 1,700 wasted bytes > 1,699
    (["--fail-on-waste", "1700"], False),
])
def test_ci_gates_exit_non_zero_like_dive_ci(layout, args, fails):
    result = _inspect(layout, "--json", "--no-magic", *args)
    assert result.exit_code == (EXIT_CHECK_FAILED if fails else 0), result.output
    assert json.loads(result.stdout)["checks"]["passed"] is not fails


def test_inspect_a_reference_in_a_real_registry_without_spark(layout, tmp_path):
    with LocalRegistry(str(tmp_path / "registry")) as registry:
        skopeo_copy(f"oci:{layout}:v1", f"docker://{registry.host}/demo/inspect:v1")
        code = ("import json, sys; from hubscope.cli import main\n"
                "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n"
                "    assert 'pyspark' not in sys.modules, 'inspect imported pyspark'; raise")
        proc = subprocess.run([sys.executable, "-c", code, "inspect", "--registry", registry.url, "demo/inspect:v1",
                               "--json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    _check(doc)
    assert doc["image"]["repository"] == "demo/inspect" and doc["image"]["source"] == "registry"


# -- package inventory -------------------------------------------------------------------------------
DPKG = (b"Package: base-files\nStatus: install ok installed\nVersion: 12.4\nInstalled-Size: 400\n\n"
        b"Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nInstalled-Size: 1000\n\n"
        b"Package: gone\nStatus: deinstall ok config-files\nVersion: 1\nInstalled-Size: 7\n")
APK = b"P:musl\nV:1.2.4-r2\nI:622592\n\nP:busybox\nV:1.36.1-r5\nI:950000\n"
META = b"Metadata-Version: 2.1\nName: foo\nVersion: 1.2\n\nName: not-a-header\n"
RECORD = b"foo/__init__.py,sha256=x,100\nfoo-1.2.dist-info/METADATA,,\nfoo-1.2.dist-info/RECORD,,\n"
PAD = b'{"name": "left-pad", "version": "1.3.0"}'
NESTED = b'{"name": "x", "version": "0.1.0"}'
SITE = "usr/lib/python3/dist-packages"


def _rpmdb(path) -> bytes:
    """An rpm sqlite database with one header: bash 5.2-1.fc39, SIZE 8,000,000."""
    import sqlite3
    import struct

    data = b"bash\0" + b"5.2\0" + b"1.fc39\0" + struct.pack(">I", 8_000_000)  # strings end at 16: the int32 there
    tags = [(1000, 6, 0, 1), (1001, 6, 5, 1), (1002, 6, 9, 1), (1009, 4, 16, 1)]
    blob = struct.pack(">II", len(tags), len(data)) + b"".join(struct.pack(">iIiI", *t) for t in tags) + data
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB NOT NULL)")
    con.execute("INSERT INTO Packages (blob) VALUES (?)", (blob,))
    con.commit()
    con.close()
    return open(path, "rb").read()


def test_inspect_lists_packages_with_the_bytes_they_own(tmp_path):
    root = tmp_path / "layout"
    oci = OciLayout(str(root))
    base = {"var/lib/dpkg/status": DPKG, "lib/apk/db/installed": APK,
            "var/lib/rpm/rpmdb.sqlite": _rpmdb(str(tmp_path / "rpmdb.sqlite"))}
    app = {f"{SITE}/foo-1.2.dist-info/METADATA": META, f"{SITE}/foo-1.2.dist-info/RECORD": RECORD,
           f"{SITE}/foo/__init__.py": b"#" * 100,
           "app/node_modules/left-pad/package.json": PAD, "app/node_modules/left-pad/index.js": b"x" * 500,
           "app/node_modules/left-pad/node_modules/x/package.json": NESTED,
           "app/node_modules/left-pad/node_modules/x/i.js": b"y" * 50}
    oci.tag(oci.image([base, app]), "v1")
    oci.save()
    result = _inspect(str(root), "--json", "--no-magic")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    got = {(p["ecosystem"], p["name"], p["version"]): p["bytes"] for p in doc["packages"]}
    assert got == {
        ("dpkg", "base-files", "12.4"): 400 * 1024, ("dpkg", "libc6", "2.36-9"): 1000 * 1024,  # "gone" is not installed
        ("apk", "musl", "1.2.4-r2"): 622_592, ("apk", "busybox", "1.36.1-r5"): 950_000,
        ("rpm", "bash", "5.2-1.fc39"): 8_000_000,
        ("python", "foo", "1.2"): 100 + len(META) + len(RECORD),  # the files RECORD lists
        ("npm", "left-pad", "1.3.0"): len(PAD) + 500,  # its own folder, the nested package not counted
        ("npm", "x", "0.1.0"): len(NESTED) + 50,
    }
    eco = {e["ecosystem"]: (e["packages"], e["bytes"]) for e in doc["package_ecosystems"]}
    assert eco["dpkg"] == (2, 1400 * 1024) and eco["npm"] == (2, len(PAD) + 500 + len(NESTED) + 50)
    text = _inspect(str(root), "--no-magic").output
    assert "packages: rpm 1 (7.6 MiB)" in text and "npm    left-pad 1.3.0" in text
