"""Write every image of ``srkit.synthetic.SYNTHETIC`` to ``data/<name>.png``.

Usage: ``python tools/make_data.py`` (from anywhere).
"""
from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from srkit.synthetic import SYNTHETIC  # noqa: E402


def main() -> None:
    out_dir = ROOT / "data"
    out_dir.mkdir(exist_ok=True)
    for name, fn in SYNTHETIC.items():
        arr = fn()
        path = out_dir / f"{name}.png"
        Image.fromarray(arr).save(path, optimize=True)
        print(f"wrote {path.relative_to(ROOT)}  {arr.shape}  "
              f"{path.stat().st_size / 1024:.1f} kB")


if __name__ == "__main__":
    main()
