"""The output folder of a compare run: its file names, JSON files written
atomically, and the check that a folder may receive (or resume) a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .._checks import InvalidValue, UserFileError
from .._io import LOCK, atomic_write_text, plain
from ..data import same_path
from .config import CompareConfig

# settings that name a path: compared after resolving it (./d/ is the same data as /abs/d)
PATH_SETTINGS = ("data", "test_data")
REPORT_FILES = ("report.md", "report.json", "report.html")
RESULT = "result.json"
SETTINGS = "compare.json"
TIMING = "timing.json"
BUDGET = "budget.json"  # the steps a time budget gave every run
INIT_AUDIT = "init_audit.json"


def write_json(path: Path, value: Any) -> None:
    """``value`` (made plain: non-finite floats as ``null``) as indented JSON."""
    atomic_write_text(path, json.dumps(plain(value), indent=2) + "\n")


def read_json(path: Path) -> Any:
    """A JSON file this job wrote."""
    return json.loads(path.read_text())


def _same(saved: Any, current: Any) -> bool:
    """Whether a saved path setting and the current one name the same path."""
    if not all(v is None or isinstance(v, str) for v in (saved, current)):
        return False
    return same_path(saved, current)


def check_out(out: Path, config: CompareConfig, force: bool) -> None:
    """Refuse an ``out`` that holds a report (unless ``force``), a compare run with
    other settings (paths compared after resolving them), or anything else that is
    not ours."""
    if out.exists() and not out.is_dir():
        raise UserFileError(f"out must be a folder; received out={str(out)!r} (a file)")
    if not out.exists():
        return
    reports = [name for name in REPORT_FILES if (out / name).exists()]
    if reports and not force:
        raise InvalidValue(f"{out} already holds a report ({', '.join(reports)}); pass --force "
                           "to replace it, or choose another --out")
    settings = out / SETTINGS
    if settings.is_file():
        try:
            saved = read_json(settings)
        except ValueError:
            raise UserFileError(f"{settings} is not valid JSON; choose another --out") from None
        if not isinstance(saved, dict):
            raise UserFileError(f"{settings} does not hold the settings of a compare run; "
                                "choose another --out")
        if "kinds" in saved and "variants" not in saved:  # written before 0.2
            saved["variants"] = saved.pop("kinds")
        current = plain(config.settings())
        changed = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k)
                         and not (k in PATH_SETTINGS and _same(saved.get(k), current.get(k))))
        if changed:
            raise InvalidValue(
                f"{out} holds a compare run with other settings ("
                + ", ".join(f"{k}={current.get(k)!r}, saved {saved.get(k)!r}" for k in changed)
                + "); choose another --out to start a new one")
    elif any(p.name != LOCK for p in out.iterdir()):
        raise UserFileError(f"out must be a new or empty folder, or a compare run to resume; "
                            f"{out} holds other files")
