"""Artifact size: ours (`deploy/package.py`) against the baseline zipped the usual way.

    python bench/artifact.py

The baseline is what the sample needs, installed for the same platform (python3.12, arm64) with
pip --target and zipped as is (sources, no bytecode), which is how most such functions ship.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from common import BENCH, ROOT, STATE, report

sys.path.insert(0, str(ROOT))
from deploy import package


def unpacked(artifact: Path) -> int:
    with zipfile.ZipFile(artifact) as archive:
        return sum(info.file_size for info in archive.infolist())


def baseline_artifact() -> Path:
    version, arch = package.declared_runtime()
    staging = STATE / "baseline-package"
    shutil.rmtree(staging, ignore_errors=True)
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--only-binary=:all:", "--implementation", "cp", "--platform", package.PLATFORMS[arch],
            "--python-version", version, "--target", str(staging), "-r", str(BENCH / "baseline" / "requirements.txt"),
        ],
        check=True,
    )  # fmt: skip
    shutil.copy2(BENCH / "baseline" / "baseline_handler.py", staging)
    artifact = STATE / "baseline.zip"
    shutil.make_archive(str(artifact.with_suffix("")), "zip", staging)
    return artifact


def main() -> None:
    ours = package.build(package.declared_runtime()[1], STATE)
    base = baseline_artifact()
    mib = 1024 * 1024
    rows = [
        ["ours", ours.stat().st_size / mib, unpacked(ours) / mib],
        ["baseline", base.stat().st_size / mib, unpacked(base) / mib],
        ["ratio ours/baseline", ours.stat().st_size / base.stat().st_size, unpacked(ours) / unpacked(base)],
    ]
    report(
        "artifact",
        "Artifact for python3.12/arm64",
        ["", "zipped MiB", "unpacked MiB"],
        rows,
        {"ours_bytes": ours.stat().st_size, "baseline_bytes": base.stat().st_size},
    )


if __name__ == "__main__":
    main()
