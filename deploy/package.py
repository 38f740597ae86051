"""Build the Lambda deployment artifact: handler.py, background.py, faceid_fn/ and the runtime dependencies only.

    python deploy/package.py                  # for the runtime/architecture in serverless.yml
    python deploy/package.py --arch x86_64    # same recipe for this machine (the import test)

Dependencies come from requirements.txt as wheels for the target platform (pip --platform,
--python-version, --only-binary; no Docker), each checked against the lock's hashes (--require-hashes).
What the Lambda Python runtime already provides (boto3 and botocore's own dependencies) is left out,
and so are parts of libraries this function never imports (listed in UNUSED, each checked: nothing kept
imports them), and package `__init__`s that import a whole package are made lazy (LAZY_INITS). Everything is compiled
to bytecode by the target Python version (found with pyenv) and shipped as bytecode only
(sourceless .pyc: half the size, and nothing to compile at cold start on Lambda's read-only disk;
tracebacks keep file and line). The zip has fixed timestamps: the same inputs give the same artifact.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Provided by the Lambda Python runtime; the function only uses boto3 & co through Powertools
# (Idempotency, Parameters) and storage.py, which import them lazily. snapshot-restore-py (SnapStart's
# hooks) must be the runtime's own copy: the runtime calls the hooks registered in its registry.
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "snapshot-restore-py"}
# Subpackages of dependencies that nothing in the function (or in what it imports) uses.
UNUSED = [
    "pydantic/v1",  # pydantic's v1 compatibility layer
    "aws_lambda_powertools/utilities/auth_alpha",
    "aws_lambda_powertools/utilities/batch",
    "aws_lambda_powertools/utilities/circuit_breaker",
    "aws_lambda_powertools/utilities/data_masking",
    "aws_lambda_powertools/utilities/_data_masking",
    "aws_lambda_powertools/utilities/feature_flags",
    "aws_lambda_powertools/utilities/kafka",
    "aws_lambda_powertools/utilities/streaming",
    "wrapt-stubs",
    "wrapt/_wrappers.c",  # the C source of the compiled extension next to it
    # Swagger UI's static bundle, read only by enable_swagger(), which this function never calls.
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui-bundle.min.js",
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui.min.css",
]
# Package __init__ modules that import every submodule of a large package, of which the function uses a
# few: rewritten (lazy_init) so that each name is imported on first use. Powertools' Event Handler loads
# the AppSync, Bedrock and VPC Lattice resolvers (and asyncio) that way, its data classes package every
# event source's class, and wrapt (the X-Ray SDK's patching) its async helpers, asyncio again: about
# 40 ms of each cold start together (bench/README.md, import profile).
LAZY_INITS = ["aws_lambda_powertools/event_handler", "aws_lambda_powertools/utilities/data_classes", "wrapt"]
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
CODE = ["handler.py", "background.py", "faceid_fn"]


def declared_runtime() -> tuple[str, str]:
    """(python version, architecture) from serverless.yml's provider section."""
    text = (ROOT / "serverless.yml").read_text()
    runtime = re.search(r"^\s+runtime:\s*python(\d+\.\d+)\s*$", text, re.MULTILINE)
    arch = re.search(r"^\s+architecture:\s*(\w+)\s*$", text, re.MULTILINE)
    if not runtime:
        raise SystemExit("serverless.yml declares no python runtime")
    return runtime.group(1), arch.group(1) if arch else "x86_64"


def requirements() -> list[str]:
    """requirements.txt's pins, each one line with its hashes (`name==version --hash=sha256:...`), without
    what the runtime provides."""
    pins = []
    for line in (ROOT / "requirements.txt").read_text().replace("\\\n", " ").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and re.split(r"[=<>\[ ;]", line, maxsplit=1)[0].lower() not in RUNTIME_PROVIDED:
            pins.append(line)
    return pins


def lazy_init(source: str, package: str) -> str:
    """The source of a package `__init__` that imports the same names on first use (PEP 562 __getattr__).

    Its `from ... import name [as alias]` statements become lazy; every other statement (docstring,
    `__all__`, version strings, small helpers) is kept as is, provided it uses none of the lazy names (it
    runs at import, before any of them is loaded: the build fails otherwise, and on star imports). A name
    that is also the name of the submodule it comes from is imported eagerly: once that submodule is
    imported, Python sets the package attribute to the module, which would shadow the name.
    """
    tree = ast.parse(source)
    lazy: dict[str, tuple[str, str]] = {}
    eager: list[str] = []
    kept: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            module = f"{base}.{node.module}" if node.level else str(node.module)
            for alias in node.names:
                name = alias.asname or alias.name
                if alias.name == "*":
                    raise SystemExit(f"{package}: star import, cannot be made lazy")
                if module.rsplit(".", 1)[-1] == name:
                    eager.append(f"from {module} import {alias.name} as {name}")
                else:
                    lazy[name] = (module, alias.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):  # plain imports, from __future__
            kept.append(node)
        else:
            kept.append(node)
    for node in kept:
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} & set(lazy)
        if used:
            raise SystemExit(f"{package}: line {node.lineno} uses {sorted(used)} at import, cannot be made lazy")
    body = ast.unparse(ast.Module(body=kept, type_ignores=[]))
    return "\n".join(
        [
            body,
            "",
            "# Made lazy by faceid-fn's deploy/package.py: the names below load on first use.",
            "import importlib as _importlib",
            *eager,
            f"_LAZY = {lazy!r}",
            "",
            "",
            "def __getattr__(name):",
            "    target = _LAZY.get(name)",
            "    if target is None:",
            "        try:",
            "            return _importlib.import_module(f'{__name__}.{name}')",
            "        except ModuleNotFoundError as exc:",
            "            if exc.name != f'{__name__}.{name}':",
            "                raise",
            "            raise AttributeError(f'module {__name__!r} has no attribute {name!r}') from None",
            "    value = getattr(_importlib.import_module(target[0]), target[1])",
            "    globals()[name] = value",
            "    return value",
            "",
            "",
            "def __dir__():",
            "    return sorted(set(globals()) | set(_LAZY))",
            "",
        ]
    )


def python_for(version: str) -> str:
    """An interpreter of the target version (pyenv's, or one on PATH)."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for candidate in sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"), reverse=True):
        return str(candidate)
    found = shutil.which(f"python{version}")
    if found:
        return found
    raise SystemExit(f"python{version} is needed to compile the artifact's bytecode (pyenv install {version})")


def build(arch: str, out: Path) -> Path:
    version, _ = declared_runtime()
    staging = out / f"package-{arch}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    # Every wheel is checked against the lock's hashes (which cover each platform's files of a version).
    pinned = out / f"requirements-{arch}.txt"
    pinned.write_text("\n".join(requirements()) + "\n")
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-deps", "--only-binary=:all:", "--implementation", "cp",
            "--platform", PLATFORMS[arch], "--python-version", version,
            "--target", str(staging), "--require-hashes", "-r", str(pinned),
        ],
        check=True,
    )  # fmt: skip
    for name in CODE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, staging / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, staging / name)
    for junk in [*staging.rglob("__pycache__"), staging / "bin", *(staging / part for part in UNUSED)]:
        if junk.is_dir():
            shutil.rmtree(junk)
        elif junk.exists():
            junk.unlink()
    for junk_file in [*staging.rglob("*.pyi"), *staging.glob("*.dist-info/RECORD")]:
        junk_file.unlink()
    for package_dir in LAZY_INITS:
        init = staging / package_dir / "__init__.py"
        init.write_text(lazy_init(init.read_text(), package_dir.replace("/", ".")))
    subprocess.run(
        [
            python_for(version),
            "-m",
            "compileall",
            "-q",
            "-b",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            str(staging),
        ],
        check=True,
    )  # -b: foo.pyc beside foo.py, importable once the source is gone
    for source in staging.rglob("*.py"):
        source.unlink()
    artifact = out / ("faceid-fn.zip" if arch == declared_runtime()[1] else f"faceid-fn-{arch}.zip")
    with zipfile.ZipFile(artifact, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in staging.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(str(path.relative_to(staging)), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return artifact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default=None, help="default: serverless.yml's")
    parser.add_argument("--out", type=Path, default=ROOT / ".build")
    args = parser.parse_args()
    artifact = build(args.arch or declared_runtime()[1], args.out)
    print(
        f"{artifact.relative_to(ROOT) if artifact.is_relative_to(ROOT) else artifact}: {artifact.stat().st_size} bytes"
    )


if __name__ == "__main__":
    main()
