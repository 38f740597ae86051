"""Extract the FaceID actions we use from Tencent's official SDK into tests/contract/faceid_models.json.

The official international SDK (`tencentcloud-sdk-python-intl-en`) is the contract of record for field
names, casing and types. Its `tencentcloud/faceid/v20180301/models.py` is parsed with `ast` (never
imported): for every model, the fields in declaration order (`self._Name = None` in `__init__`), each
field's type from the `:type Name: ...` docstring line, and whether its property warns that it is
deprecated. Only the models the actions below reach (request, response and what they nest) are kept.

- The Intl actions and CreateUploadUrl come from the pinned release (requirements-sdk.txt, downloaded by
  `make sdk-models` into .venv/sdk/); tests/contract checks that the pinned release still agrees.
- ApplyWebVerificationToken and GetWebVerificationResult were dropped from the SDK in 3.1.50: they come
  from 3.1.49 and are kept frozen in the JSON (regenerate them only with `--legacy`).

    python tools/sdk_extract.py                    # refresh the current part from the pinned wheel
    pip download --no-deps tencentcloud-sdk-python-intl-en==3.1.49 -d /tmp/sdk
    python tools/sdk_extract.py --legacy /tmp/sdk/tencentcloud_sdk_python_intl_en-3.1.49-py2.py3-none-any.whl

To move to a newer release: change the version and hash in requirements-sdk.txt, `make sdk-models`,
run this script, and read the JSON diff (a renamed or retyped field is a change of contract).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "contract" / "faceid_models.json"
PIN_FILE = ROOT / "requirements-sdk.txt"
SDK_DIR = ROOT / ".venv" / "sdk"
PACKAGE = "tencentcloud-sdk-python-intl-en"
MODELS_PATH = "tencentcloud/faceid/v20180301/models.py"

CURRENT_ACTIONS = ("ApplyWebVerificationBizTokenIntl", "GetWebVerificationResultIntl", "CreateUploadUrl")
LEGACY_ACTIONS = ("ApplyWebVerificationToken", "GetWebVerificationResult")
LEGACY_VERSION = "3.1.49"

_TYPE_LINE = re.compile(r"^\s*:type (\w+): (.+?)\s*$", re.MULTILINE)
_CLASS_REF = re.compile(r":class:`tencentcloud\.faceid\.v20180301\.models\.(\w+)`")
_SCALARS = ("str", "int", "bool", "float")


def pinned_version(pin_file: Path = PIN_FILE) -> str:
    """The release requirements-sdk.txt pins."""
    match = re.search(rf"^{re.escape(PACKAGE)}==([\w.]+)", pin_file.read_text(), re.MULTILINE)
    if not match:
        raise SystemExit(f"{pin_file} does not pin {PACKAGE}")
    return match.group(1)


def pinned_wheel(version: str | None = None) -> Path:
    """The downloaded wheel of the pinned release (make sdk-models)."""
    version = version or pinned_version()
    wheels = sorted(SDK_DIR.glob(f"tencentcloud_sdk_python_intl_en-{version}-*.whl"))
    if not wheels:
        raise FileNotFoundError(f"{PACKAGE}=={version} is not in {SDK_DIR}: run `make sdk-models`")
    return wheels[0]


def read_models_source(source: Path) -> str:
    """models.py from a wheel (zip) or a plain file."""
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as wheel:
            return wheel.read(MODELS_PATH).decode("utf-8")
    return source.read_text(encoding="utf-8")


def wheel_version(source: Path) -> str | None:
    match = re.match(r"tencentcloud_sdk_python_intl_en-([\w.]+?)-", source.name)
    return match.group(1) if match else None


def normalise_type(raw: str) -> str:
    """`str`, `list of int`, a model name (`WebVerificationConfigIntl`) or `list of <model>`."""
    text = _CLASS_REF.sub(r"\1", raw.strip())
    if text.startswith("list of "):
        return "list of " + text.removeprefix("list of ").strip()
    return text


def parse_models(source: str) -> dict[str, dict[str, dict[str, Any]]]:
    """Every AbstractModel subclass: {model: {field: {"type": ..., ["deprecated": true]}}}."""
    models: dict[str, dict[str, dict[str, Any]]] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef):
            continue
        if not any(isinstance(base, ast.Name) and base.id == "AbstractModel" for base in node.bases):
            continue
        methods = {f.name: f for f in node.body if isinstance(f, ast.FunctionDef)}
        init = methods.get("__init__")
        if init is None:
            continue
        types = dict(_TYPE_LINE.findall(ast.get_docstring(init, clean=False) or ""))
        fields: dict[str, dict[str, Any]] = {}
        for statement in init.body:
            if not isinstance(statement, ast.Assign):
                continue
            for target in statement.targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "self"
                    and target.attr.startswith("_")
                ):
                    name = target.attr[1:]
                    if name not in types:
                        raise ValueError(f"{node.name}.{name} has no `:type` line in the SDK docstring")
                    fields[name] = {"type": normalise_type(types[name])}
        for name, spec in fields.items():
            getter = next(
                (f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == name and f.decorator_list),
                None,
            )
            if getter is not None and "is deprecated" in ast.unparse(getter):
                spec["deprecated"] = True
        models[node.name] = fields
    return models


def model_of(type_name: str) -> str | None:
    """The model a field type names, or None for a scalar (or a list of scalars)."""
    inner = type_name.removeprefix("list of ")
    return None if inner in _SCALARS else inner


def closure(models: dict[str, dict[str, dict[str, Any]]], roots: list[str]) -> dict[str, dict[str, Any]]:
    """The models reachable from `roots`, in the order they are first reached."""
    kept: dict[str, dict[str, Any]] = {}
    todo = list(roots)
    while todo:
        name = todo.pop(0)
        if name in kept:
            continue
        if name not in models:
            raise KeyError(f"model {name} is not in the SDK's models.py")
        kept[name] = models[name]
        todo += [m for spec in models[name].values() if (m := model_of(spec["type"])) and m not in kept]
    return kept


def extract(source: Path, actions: tuple[str, ...], version: str) -> dict[str, Any]:
    """The part of the JSON for one SDK release."""
    models = parse_models(read_models_source(source))
    missing = [a for a in actions if f"{a}Request" not in models]
    if missing:
        raise SystemExit(f"{PACKAGE} {version} has no {', '.join(missing)}")
    roots = [f"{a}{kind}" for a in actions for kind in ("Request", "Response")]
    part: dict[str, Any] = {"package": PACKAGE, "version": version}
    if source.suffix == ".whl":
        part["wheel_sha256"] = hashlib.sha256(source.read_bytes()).hexdigest()
    part["actions"] = {a: {"request": f"{a}Request", "response": f"{a}Response"} for a in actions}
    part["models"] = closure(models, roots)
    return part


def current_part(source: Path | None = None) -> dict[str, Any]:
    source = source or pinned_wheel()
    return extract(source, CURRENT_ACTIONS, wheel_version(source) or pinned_version())


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--current", type=Path, help="wheel or models.py (default: the pinned wheel)")
    parser.add_argument("--legacy", type=Path, help=f"the {LEGACY_VERSION} wheel (default: keep the frozen part)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)

    existing = json.loads(args.output.read_text()) if args.output.exists() else {}
    if args.legacy:
        legacy = extract(args.legacy, LEGACY_ACTIONS, wheel_version(args.legacy) or LEGACY_VERSION)
    elif "legacy" in existing:
        legacy = existing["legacy"]
    else:
        parser.error(f"no legacy part yet: pass --legacy with the {LEGACY_VERSION} wheel")
    document: dict[str, Any] = {
        "about": "FaceID v20180301 request/response models of the actions faceid-fn uses, extracted from "
        "the official SDK by tools/sdk_extract.py. Do not edit by hand.",
        "current": current_part(args.current),
        "legacy": legacy,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(document))
    counts = {k: sum(len(m) for m in document[k]["models"].values()) for k in ("current", "legacy")}
    print(f"wrote {args.output.relative_to(ROOT)}: {counts['current']} fields (current), {counts['legacy']} (legacy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
