import json
import subprocess
import sys

import pytest

from upsamplers import __version__
from upsamplers.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_bench_runs_and_writes_table_and_json(tmp_path, capsys):
    out = tmp_path / "bench"
    code = main(["bench", "--shape", "1,4,32,2", "--repeats", "1", "--warmup", "0",
                 "--out", str(out)])
    assert code == 0
    table = (out / "bench.md").read_text()
    data = json.loads((out / "bench.json").read_text())
    kinds = {row["kind"] for row in data["rows"]}
    assert {"transposed", "subpixel", "nearest", "linear"} <= kinds
    for row in data["rows"]:
        assert row["median_ms"] > 0
        assert f"| {row['label']} |" in table
    assert "subpixel" in capsys.readouterr().out


def test_bench_refuses_to_overwrite(tmp_path, capsys):
    (tmp_path / "bench.md").write_text("mine")
    code = main(["bench", "--shape", "1,4,32,2", "--repeats", "1", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already exist" in err[0] and "--force" in err[0]
    assert (tmp_path / "bench.md").read_text() == "mine"


def test_bad_argument_is_one_line_without_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "upsamplers", "bench", "--quick", "--repeats", "0"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == ["upsamplers bench: error: repeats must be a positive integer; "
                     "received repeats=0"]
