"""``train --config`` may name the run folder's own ``config.json`` (resuming
with the settings it recorded), but an input is never replaced: when the run
would rewrite that file with other settings, it is refused before any work."""

import json
import warnings

import pytest
from tiny_runs import cli_args, snapshot, tiny

from upsamplers.cli import main
from upsamplers.train import CONFIG

pytestmark = pytest.mark.usefixtures("one_thread")


def test_resuming_with_the_runs_own_config_file_is_allowed(tmp_path):
    config = tiny(steps=2, checkpoint_every=1)
    out = tmp_path / "run"
    assert main(["train", *cli_args(config, out)]) == 0
    (out / "model.pt").unlink()  # as if stopped after the last checkpoint
    recorded = (out / CONFIG).read_text()
    assert main(["train", "--config", str(out / CONFIG), "--out", str(out), "--resume",
                 "--no-progress"]) == 0
    assert (out / CONFIG).read_text() == recorded and (out / "model.pt").is_file()


@pytest.mark.parametrize("case", ["flag", "hand-written"])
def test_a_config_file_the_run_would_rewrite_is_refused(tmp_path, capsys, case):
    out = tmp_path / "run"
    if case == "flag":  # the run's own file, and a flag that changes what it records
        config = tiny(steps=2, checkpoint_every=1)
        assert main(["train", *cli_args(config, out)]) == 0
        (out / "model.pt").unlink()
        extra = ["--steps", "3", "--resume"]
    else:  # the user's few settings, in the folder the run writes its config.json to
        out.mkdir()
        (out / CONFIG).write_text(json.dumps({"model": "autoencoder", "upsampler": "nearest",
                                              "steps": 1}))
        extra = []
    before = snapshot(tmp_path)
    assert main(["train", "--config", str(out / CONFIG), "--out", str(out), "--no-progress",
                 *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "it would be replaced" in err[0], err
    assert snapshot(tmp_path) == before


def test_a_config_file_that_is_not_text_is_one_line(tmp_path, capsys):
    (tmp_path / "c.json").write_bytes(b"\x80\x81\xfe binary")
    assert main(["train", "--config", str(tmp_path / "c.json"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not valid JSON" in err[0], err


def test_a_foreign_pickle_is_one_line_without_torchs_warning(tmp_path, capsys):
    """A protocol-4 pickle that is not a checkpoint: torch warns about the protocol
    before refusing it; the command prints its one line only."""
    import pickle

    import numpy as np
    import soundfile as sf

    sf.write(tmp_path / "in.wav", np.zeros(4000), 16000)
    (tmp_path / "foreign.pt").write_bytes(pickle.dumps({"a": 1}, protocol=4))
    (tmp_path / "garbage.pt").write_bytes(b"\x80\x04not a pickle at all")
    for name in ("foreign.pt", "garbage.pt"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert main(["reconstruct", "--checkpoint", str(tmp_path / name),
                         str(tmp_path / "in.wav"), str(tmp_path / "out.wav")]) == 2
        assert not caught, [str(w.message) for w in caught]  # they would print on stderr
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"checkpoint {tmp_path / name} cannot be read" in err[0], err


def test_audit_of_a_checkpoint_file_points_to_evaluate(tmp_path, capsys):
    from upsamplers.models import Autoencoder

    Autoencoder(widths=(4, 8), length=1024).save(tmp_path / "model.pt")
    assert main(["audit", "--sample-rate", "16000", str(tmp_path / "model.pt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"upsamplers evaluate --checkpoint {tmp_path / 'model.pt'}" in err[0]
