import json
import math
import re

import numpy as np
import pytest
import soundfile as sf
import torch

from upsamplers._checks import InvalidType, InvalidValue, UserFileError
from upsamplers.analysis import audit, tone_measures
from upsamplers.analysis.lines import lines_above_floor
from upsamplers.cli import get_parser, main
from upsamplers.compare import (
    COMPARE_TRAINING,
    TRAINING_FIELDS,
    VARIANTS,
    AuditSummary,
    CompareConfig,
    StepTiming,
    VariantResult,
    audit_summary,
    compare,
    reading,
    speed_claims,
)
from upsamplers.compare.report import COLUMNS, cell, line_cell
from upsamplers.metrics import sdr, si_sdr
from upsamplers.models import load_model

RATE = 16000
ARGS = ["--variants", "subpixel", "nearest", "--steps", "3", "--crop", "1024", "--batch-size", "2",
        "--timing-steps", "2", "--audit-seconds", "2", "--clip-seconds", "0.5",
        "--model-option", "widths=[4, 8]", "--no-progress"]


def tiny_config(data, **overrides):
    values = dict(data=str(data), variants=("subpixel", "nearest"), steps=3, crop=1024,
                  batch_size=2, timing_steps=2, audit_seconds=2.0, clip_seconds=0.5,
                  model_options={"widths": [4, 8]})
    values.update(overrides)
    return CompareConfig(**values)


pytestmark = pytest.mark.usefixtures("one_thread")


def chord(seconds, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    x = sum(0.2 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in rng.uniform(100, 2000, 3))
    return (x + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture
def data(tmp_path):
    root = tmp_path / "audio"
    for split, count in (("train", 2), ("validation", 1)):
        (root / split).mkdir(parents=True)
        for i in range(count):
            sf.write(root / split / f"clip{i}.wav", chord(1.0, i + 10 * count), RATE)
    return root


def table(md):
    lines = [line for line in md.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    return header, rows


def _approx_tones(tones):
    """``tones`` (a ToneMeasures dictionary) with every figure compared to 1e-6 dB."""
    return {k: ({**v, "db": pytest.approx(v["db"], abs=1e-6)} if isinstance(v, dict) else v)
            for k, v in tones.items()}


def _check_tone_cells(row, cells, title, model, clip, rep):
    """The tone figures of a trained row are those measured on the saved model, the
    silence and constant lines agree with the audit's Welch bins (another estimator:
    exact for an exactly periodic output), and no cell shows a clamp-derived figure."""
    tones = row["tones"]
    again = tone_measures(model.upsampling_part(), RATE, model.hop, seconds=2.0,
                          clip=torch.from_numpy(clip)[None],
                          clip_runner=lambda x: model.process_long(x))
    assert tones == _approx_tones(again.to_dict())
    for key, probe in (("silence_dbfs", "silence"), ("constant_db_re_rms", "ones")):
        line = tones[key]
        if line["db"] is None:  # e.g. an exactly zero output: a reason, no number
            assert line["note"] and line["frequency_hz"] is None
            continue
        welch = rep.probes[probe].tones.tone_at(line["frequency_hz"])
        reference = (10 * math.log10(welch.power / 0.5) if probe == "silence"
                     else welch.relative_db)
        assert line["db"] == pytest.approx(reference, abs=0.05), key
    assert tones["audio_db_above_floor"]["db"] is not None  # a recorded clip has a floor
    for key, column in (("silence_dbfs", "silence"), ("constant_db_re_rms", "constant")):
        assert cells[title[column]] == line_cell(tones[key])
    for key, column in (("noise", "noise"), ("audio", "clip")):
        assert cells[title[column]] == (f"{line_cell(tones[key + '_db_above_floor'])}; added "
                                        f"{line_cell(tones[key + '_excess_db'])}")
    clamped = {f"{t.level_db:+.1f}" for p in rep.probes.values() for t in p.tones.tones
               if abs(t.level_db - t.relative_db - 150.0) < 1e-6}
    assert not any(c in cells[title[column]] for c in clamped for column in
                   ("silence", "constant", "noise", "clip"))


def test_end_to_end_files_columns_and_measured_numbers(data, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "--data", str(data), "--out", str(out), *ARGS]) == 0
    printed = capsys.readouterr().out
    assert "report.md" in printed
    for name in ("report.md", "report.json", "report.html", "compare.json", "timing.json",
                 "input_clip.wav", "input_clip.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    for variant in ("subpixel", "nearest"):
        for name in ("result.json", "model.pt", "clip.wav", "silence.wav", "clip.png",
                     "silence.png", "init_audit.json"):
            assert (out / "variants" / variant / name).is_file(), (variant, name)
    assert not (out / "variants" / "nearest-naive").exists()  # timing only

    report = json.loads((out / "report.json").read_text())
    timing = json.loads((out / "timing.json").read_text())
    rows = {r["variant"]: r for r in report["rows"]}
    assert list(rows) == ["subpixel", "nearest", "nearest-naive"]
    header, md_rows = table((out / "report.md").read_text())
    assert header == [title for _, title in COLUMNS]
    assert [r[0] for r in md_rows] == list(rows)
    assert all(len(r) == len(COLUMNS) for r in md_rows)
    md = {r[0]: dict(zip(header, r, strict=True)) for r in md_rows}
    title = dict(COLUMNS)

    clip_in, _ = sf.read(out / "input_clip.wav", dtype="float32")
    val, _ = sf.read(data / "validation" / "clip0.wav", dtype="float32")
    assert np.array_equal(clip_in, val[:RATE // 2])
    sub_ms = timing["median_s"]["subpixel"] * 1e3
    for name, row in rows.items():
        step_ms = timing["median_s"][name] * 1e3
        assert row["step_ms"] == pytest.approx(step_ms, rel=1e-12)
        assert row["step_ratio"] == pytest.approx(step_ms / sub_ms, rel=1e-12)
        assert md[name][title["step_ms"]] == f"{step_ms:.1f}"
        assert md[name][title["step_ratio"]] == f"{step_ms / sub_ms:.2f}x"
        if name == "nearest-naive":
            assert not row["trained"]
            assert all(md[name][title[k]] == "-" for k in
                       ("real_time_factor", "si_sdr", "sdr", "silence_init", "silence",
                        "constant", "noise", "clip", "attenuation_09_db"))
            continue
        folder = out / "variants" / name
        model = load_model(folder / "model.pt").eval()
        assert model.config["upsampler"] == VARIANTS[name].kind
        assert row["parameters"] == model.num_parameters() == timing["parameters"][name]
        assert md[name][title["parameters"]] == f"{model.num_parameters():,}"
        # quality, recomputed from the saved model on the validation file
        x = torch.from_numpy(val)[None]
        est = model.process_long(x)  # exact: one whole pass (tests/test_chunking.py)
        assert row["si_sdr"] == pytest.approx(float(si_sdr(est, x)[0]), abs=1e-6)
        assert row["sdr"] == pytest.approx(float(sdr(est, x)[0]), abs=1e-6)
        assert md[name][title["si_sdr"]] == f"{row['si_sdr']:.2f}"
        assert md[name][title["sdr"]] == f"{row['sdr']:.2f}"
        assert 0 < row["real_time_factor"] < 100
        assert md[name][title["real_time_factor"]] == f"{row['real_time_factor']:.4f}"
        # the clip output written is the model's output on the held-out clip
        written, rate = sf.read(folder / "clip.wav", dtype="float32")
        assert rate == RATE
        expected = model.process_long(torch.from_numpy(clip_in)[None])[0].numpy()
        np.testing.assert_allclose(written, expected, atol=1e-6)
        silence, _ = sf.read(folder / "silence.wav", dtype="float32")
        assert silence.shape == clip_in.shape
        # artifacts: the audit of the trained decoder, re-run here
        rep = audit(model.upsampling_part(), RATE, inputs=("silence", "ones", "noise"),
                    seconds=2.0)
        _check_tone_cells(row, md[name], title, model, clip_in, rep)
        i = rep.filtering.fractions.index(0.9)
        assert row["attenuation_09_db"] == pytest.approx(rep.filtering.attenuation_db[i],
                                                         abs=1e-9)
        assert md[name][title["attenuation_09_db"]] == f"{row['attenuation_09_db']:.2f}"
        assert row["tones_init"]["audio_db_above_floor"]["note"] == "no clip given"
        assert md[name][title["silence_init"]] == line_cell(row["silence_init"])
        # too short an audit cannot tell 0.9 of Nyquist from the reference band: n/a
        assert audit_summary(model, 0.25)["attenuation_09_db"] is None
        assert md[name][title["verdict"]] == row["verdict"]
        assert f"SI-SDR {row['si_sdr']:.1f} dB" in row["verdict"]
    # the reading is computed from the figures and printed in the markdown
    assert report["reading"] == reading(report)
    for line in report["reading"]:
        assert f"- {line}" in (out / "report.md").read_text()
    ratio = rows["nearest"]["step_ratio"]
    assert f"Polyphase nearest interpolation: {ratio:.2f}x" in " ".join(report["reading"])
    # the HTML shows the table, pictures and players, by relative paths that exist
    page = (out / "report.html").read_text()
    for _, column in COLUMNS:
        assert f"<th>{column}</th>" in page
    sources = re.findall(r"<(?:img|audio)[^>]* src='([^']+)'", page)
    assert len(re.findall(r"<audio", page)) == 5 and len(re.findall(r"<img", page)) == 5
    for src in sources:
        assert not src.startswith("/") and (out / src).is_file(), src


def test_interrupted_run_resumes_only_unfinished_variants(data, tmp_path, monkeypatch, capsys):
    import signal

    import upsamplers.train as train_module

    reference = compare(tiny_config(data), tmp_path / "reference", progress=False,
                        echo=lambda m: None)

    class CtrlCAtOnce(train_module._StopFlag):
        def __init__(self):
            super().__init__()
            self.signal = signal.SIGINT  # as if Ctrl-C came during the first step

    out = tmp_path / "cmp"
    args = ["compare", "--data", str(data), "--out", str(out), *ARGS]
    with monkeypatch.context() as patch:
        patch.setattr(train_module, "_StopFlag", CtrlCAtOnce)
        assert main(args) == 130
    assert "interrupted: saved step 1" in capsys.readouterr().err
    subpixel = out / "variants" / "subpixel"
    assert (subpixel / "checkpoint.pt").is_file() and not (subpixel / "result.json").exists()
    assert not (out / "variants" / "nearest").exists()
    assert not any((out / name).exists() for name in ("report.md", "report.json", "report.html"))

    messages = []
    second = compare(tiny_config(data), out, progress=False, echo=messages.append)
    assert '"event": "resume", "step": 1' in (subpixel / "log.jsonl").read_text()
    rows = {r["variant"]: r for r in second["rows"]}
    for name, row in ((r["variant"], r) for r in reference["rows"]):
        if row["trained"]:  # the resumed run reaches the weights of the uninterrupted one
            assert rows[name]["si_sdr"] == pytest.approx(row["si_sdr"], abs=1e-6), name
            assert rows[name]["tones"] == _approx_tones(row["tones"]), name

    # a report is there now: refused without --force, and nothing is touched
    finished = {name: (out / "variants" / name / "result.json") for name in ("subpixel",
                                                                             "nearest")}
    before = {name: (p.read_bytes(), p.stat().st_mtime_ns) for name, p in finished.items()}
    report_before = (out / "report.md").read_bytes()
    with pytest.raises(ValueError, match="already holds a report"):
        compare(tiny_config(data), out, progress=False)
    assert (out / "report.md").read_bytes() == report_before
    with pytest.raises(ValueError, match="other settings.*steps=4"):
        compare(tiny_config(data, steps=4), out, force=True, progress=False)
    # with --force the report is rewritten and the finished variants are reused as they are
    messages = []
    third = compare(tiny_config(data), out, force=True, progress=False, echo=messages.append)
    assert [m for m in messages if "reused" in m] == [
        "subpixel: finished in an earlier run; reused", "nearest: finished in an earlier run; "
        "reused"]
    assert {name: (p.read_bytes(), p.stat().st_mtime_ns) for name, p in finished.items()} \
        == before
    assert third["rows"] == second["rows"]


def test_speed_claims_are_stated_only_as_measured():
    def lines(median):
        report = {"rows": [{"variant": n, "trained": False, "step_ratio": t / median["subpixel"],
                            "si_sdr": None} for n, t in median.items()],
                  "speed_claims": speed_claims(median), "settings": {"budget": "x"}}
        return " ".join(reading(report))

    holds = {"subpixel": 1.0, "transposed": 1.1, "nearest": 1.05, "nearest-naive": 2.5,
             "linear-naive": 2.0}
    text = lines(holds)
    assert "speed ranking holds here" in text and "NOT" not in text
    assert "nearest interpolation: 1.05x subpixel's step time, at parity" in text
    fails = dict(holds, transposed=2.2, nearest=1.6)
    text = lines(fails)
    assert "does NOT hold here" in text and "holds here" not in text
    assert "1.60x subpixel's step time, NOT at parity" in text
    assert speed_claims({"subpixel": 1.0, "nearest": 1.0})["naive_slower"] is None


@pytest.mark.parametrize("case, message", [
    ("missing", "data must be an existing folder of audio; received data='.*nowhere'"),
    ("empty", "data folder .* is empty"),
    ("unusable", "no usable audio"),
    ("kind", "unknown variant 'bilinear'; variants must be among transposed, .*received "
             "variants="),
    ("both", "give steps or minutes, not both"),
    ("foreign", "out must be a new or empty folder"),
])
def test_bad_input_is_one_line_and_exit_2(case, message, data, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["compare", "--out", str(out), *ARGS]
    if case == "missing":
        args += ["--data", str(tmp_path / "nowhere")]
    elif case == "empty":
        (tmp_path / "empty").mkdir()
        args += ["--data", str(tmp_path / "empty")]
    elif case == "unusable":
        bad = tmp_path / "bad"
        (bad / "train").mkdir(parents=True)
        (bad / "train" / "a.wav").write_text("not audio")
        sf.write(bad / "train" / "short.wav", np.zeros(100, np.float32), RATE)
        args += ["--data", str(bad)]
    else:
        args += ["--data", str(data)]
    if case == "kind":
        args[args.index("nearest")] = "bilinear"
    elif case == "both":
        args += ["--minutes", "1"]
    elif case == "foreign":
        out.mkdir()
        (out / "mine.txt").write_text("keep")
    if case == "both":  # argparse refuses the pair itself
        with pytest.raises(SystemExit) as exit_info:
            main(args)
        assert exit_info.value.code == 2
        with pytest.raises(ValueError, match=message):
            compare(tiny_config(data, minutes=1.0), out)
        return
    assert main(args) == 2
    err = capsys.readouterr().err
    error_lines = [line for line in err.splitlines() if not line.startswith("warning:")]
    assert len(error_lines) == 1 and error_lines[0].startswith("upsamplers compare: error: ")
    assert re.search(message, error_lines[0]), error_lines[0]
    if case == "foreign":
        assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]
    else:
        assert not out.exists()


def test_report_refused_without_force_by_the_cli(data, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("the user's report")
    assert main(["compare", "--data", str(data), "--out", str(out), *ARGS]) == 2
    assert "already holds a report (report.md); pass --force" in capsys.readouterr().err
    assert (out / "report.md").read_text() == "the user's report"
    assert sorted(p.name for p in out.iterdir()) == ["report.md"]


def test_config_errors_name_the_argument(tmp_path):
    with pytest.raises(InvalidValue, match="variants must name at least one variant"):
        CompareConfig(variants=()).validate()
    with pytest.raises(InvalidType, match="variants must be a sequence of variant names"):
        CompareConfig(variants=5).validate()
    with pytest.raises(InvalidType, match="model_options must be a dict"):
        CompareConfig(model_options=[1]).validate()
    # the training settings are checked as training checks them, with compare's messages
    with pytest.raises(InvalidValue, match=r"lr must be a finite number > 0; received lr=0\b"):
        CompareConfig(lr=0).validate()
    with pytest.raises(InvalidValue, match="seed must be an integer >= 0; received seed=-1"):
        CompareConfig(seed=-1).validate()
    with pytest.raises(UserFileError, match="data must be an existing folder"):
        compare(CompareConfig(data=str(tmp_path / "nowhere")), tmp_path / "out")
    with pytest.raises(ValueError, match="model must be one of .*received model='melgan'"):
        CompareConfig(model="melgan").validate()
    with pytest.raises(TypeError, match="steps must be a positive integer; received steps=2.5"):
        CompareConfig(steps=2.5).validate()
    with pytest.raises(ValueError, match="minutes must be a finite number > 0; received "
                                         "minutes=0"):
        CompareConfig(minutes=0).validate()
    with pytest.raises(ValueError, match="variants must be distinct"):
        CompareConfig(variants=("subpixel", "subpixel")).validate()
    with pytest.raises(TypeError, match="variants must be a sequence"):
        CompareConfig(variants="subpixel").validate()


def test_minutes_budget_gives_steps_from_the_measured_step_time(data, tmp_path):
    out = tmp_path / "cmp"
    report = compare(tiny_config(data, variants=("subpixel",), steps=None, minutes=0.005,
                                 naive_timing=False), out, progress=False, echo=lambda m: None)
    median = json.loads((out / "timing.json").read_text())["median_s"]["subpixel"]
    steps = max(1, int(0.005 * 60 / median))
    assert report["rows"][0]["steps"] == steps
    end = [json.loads(line) for line in (out / "variants" / "subpixel" / "log.jsonl")
           .read_text().splitlines() if '"end"' in line]
    assert end[-1]["step"] == steps
    assert "0.005 min of training per variant" in (out / "report.md").read_text()


def test_durations_are_the_measured_ones(data, tmp_path):
    out = tmp_path / "cmp"
    report = compare(tiny_config(data, variants=("subpixel",), naive_timing=False), out,
                     progress=False, echo=lambda m: None)
    timing = json.loads((out / "timing.json").read_text())
    result = json.loads((out / "variants" / "subpixel" / "result.json").read_text())
    assert 0 < timing["seconds"] and 0 < result["wall_seconds"]
    assert report["work_seconds"] == pytest.approx(timing["seconds"] + result["wall_seconds"])
    assert report["work_seconds"] <= report["seconds"] and report["reused"] == []
    md = (out / "report.md").read_text()
    assert f"This invocation: {report['seconds']:.0f} s;" in md
    again = compare(tiny_config(data, variants=("subpixel",), naive_timing=False), out,
                    force=True, progress=False, echo=lambda m: None)
    assert again["reused"] == ["subpixel"] and again["work_seconds"] == report["work_seconds"]
    assert "(1 variant(s) reused from an earlier run)" in (out / "report.md").read_text()
    # the typed results read back from their files give the files' content, key for key
    assert list(VariantResult.from_dict(result).to_dict().items()) == list(result.items())
    assert list(StepTiming.from_dict(timing).to_dict().items()) == list(timing.items())
    assert again["variants"]["subpixel"] == result


def test_compare_trains_with_train_config_changed_in_three_settings(tmp_path):
    from dataclasses import fields, replace

    from upsamplers.train import TrainConfig

    train_fields = {f.name for f in fields(TrainConfig)}
    assert set(TRAINING_FIELDS) <= train_fields & {f.name for f in fields(CompareConfig)}
    assert COMPARE_TRAINING == replace(TrainConfig(), steps=300, lr=1e-3, stft_weight=0.0)
    default = CompareConfig()
    for name in TRAINING_FIELDS:
        assert getattr(default, name) == getattr(COMPARE_TRAINING, name), name
    assert default.training() == COMPARE_TRAINING
    config = CompareConfig(lr=5e-4, crop=2048, model_options={"widths": [4, 8]})
    run = config.variant_training(VARIANTS["subpixel-icnr"], 7, tmp_path)
    assert run == replace(TrainConfig(), steps=7, lr=5e-4, stft_weight=0.0, crop=2048,
                          model_options={"widths": [4, 8]}, upsampler="subpixel",
                          upsampler_options={"init": "icnr"}, data=str(tmp_path),
                          checkpoint_every=7, log_every=7)
    assert run.model_options is not config.model_options


def test_command_defaults_are_the_config_defaults(tmp_path):
    args = get_parser().parse_args(["compare", "--out", str(tmp_path)])
    default = CompareConfig()
    for name in ("model", "data", "steps", "minutes", "seed", "batch_size", "crop", "lr",
                 "stft_weight", "audit_seconds", "clip_seconds", "timing_steps", "threads",
                 "device"):
        assert getattr(args, name) == getattr(default, name), name
    assert tuple(args.variants) == default.variants
    assert (not args.no_naive_timing) == default.naive_timing


def test_old_report_module_still_works_and_warns():
    from upsamplers.compare import report

    with pytest.warns(FutureWarning, match="upsamplers.compare.report.COLUMNS"):
        from upsamplers.compare_report import COLUMNS as old
    assert old is report.COLUMNS is COLUMNS


def test_round_robin_reports_every_run_in_order():
    from upsamplers.timing import measure_round_robin

    calls, runs = [], []
    fns = [lambda: runs.append("a"), lambda: runs.append("b")]
    times = measure_round_robin(fns, repeats=3, warmup=1, on_run=calls.append)
    assert runs == ["a", "b"] + ["a", "b"] * 3
    assert calls == [0, 1] + [0, 1] * 3
    assert [len(t) for t in times] == [3, 3]


def test_a_separator_is_scored_on_its_sources_and_shows_its_first_source(tmp_path):
    from upsamplers.compare import COMPARE_MODELS
    from upsamplers.models import MODELS

    assert set(COMPARE_MODELS) <= set(MODELS)
    root = tmp_path / "stems"
    for split, count in (("train", 2), ("validation", 1)):
        for i in range(count):
            track = root / split / f"track{i}"
            track.mkdir(parents=True)
            for j, stem in enumerate(("bass", "voice")):
                sf.write(track / f"{stem}.wav", 0.5 * chord(1.0, 100 * j + i + 10 * count), RATE)
    out = tmp_path / "cmp"
    report = compare(tiny_config(root, model="demucs", variants=("subpixel",), steps=2,
                                 naive_timing=False,
                                 model_options={"width": 4, "depth": 2, "lstm_layers": 0}),
                     out, progress=False, echo=lambda m: None)
    row = report["rows"][0]
    assert row["files"]["source"] == "bass"
    assert "A separator's output shown is its first source, bass." in (
        out / "report.md").read_text()
    model = load_model(out / "variants" / "subpixel" / "model.pt").eval()
    stems = [sf.read(root / "validation" / "track0" / f"{s}.wav", dtype="float32")[0]
             for s in ("bass", "voice")]
    sources = torch.from_numpy(np.stack(stems))[:, None]  # (S, C, T)
    mixture = sources.sum(0)
    est = model.process_long(mixture)  # (S, C, T), exact chunking
    assert row["si_sdr"] == pytest.approx(float(np.mean(si_sdr(est, sources))), abs=1e-6)
    assert row["sdr"] == pytest.approx(float(np.mean(sdr(est, sources))), abs=1e-6)
    written, _ = sf.read(out / "variants" / "subpixel" / "clip.wav", dtype="float32")
    clip = mixture[..., : RATE // 2]
    expected = model.process_long(clip)[0, 0].numpy()
    np.testing.assert_allclose(written, expected, atol=1e-6)
    # the clip's lines: the whole separator on the mixture, every source a channel
    every = model.process_long(clip).double().numpy()  # (S, C, T)
    above, added = lines_above_floor(every.reshape(-1, every.shape[-1]), RATE, model.hop,
                                     reference=clip.double().numpy())
    for key, line in (("audio_db_above_floor", above), ("audio_excess_db", added)):
        assert line.db is not None, line
        assert row["tones"][key]["db"] == pytest.approx(line.db, abs=1e-4), key
        assert row["tones"][key]["frequency_hz"] == line.frequency_hz


def test_a_result_written_before_the_tone_measures_reads_without_them():
    old = {"worst_tone": {"level_db": 143.0, "frequency_hz": 2000.0, "probe": "ones",
                          "found": True, "relative_db": -7.0},
           "attenuation_09_db": -1.5, "verdicts": {"tonal": "fail"}, "audit": {}}
    summary = AuditSummary.from_dict(old)
    assert summary.tones is None and summary.attenuation_09_db == -1.5
    assert "worst_tone" not in summary.to_dict() and summary.to_dict()["tones"] is None
    row = {"trained": True, "silence": None, "noise": None}
    assert cell(row, "silence") == "n/a" and cell(row, "noise") == "n/a"  # never +143.0


def test_the_old_name_kinds_still_works_and_warns(tmp_path):
    with pytest.warns(FutureWarning, match=r"CompareConfig\(kinds=...\) is now"):
        config = CompareConfig(kinds=("subpixel",))
    assert config.variants == ("subpixel",)
    with pytest.raises(TypeError, match="not both variants and kinds"):
        CompareConfig(variants=("nearest",), kinds=("subpixel",))
    with pytest.warns(FutureWarning, match="--kinds is now --variants"):
        args = get_parser().parse_args(["compare", "--kinds", "linear", "--out", str(tmp_path)])
    assert args.variants == ["linear"]
    import upsamplers.compare as package

    with pytest.warns(FutureWarning, match="DEFAULT_KINDS is now DEFAULT_VARIANTS"):
        assert package.DEFAULT_KINDS == package.DEFAULT_VARIANTS


def test_a_run_written_with_the_old_settings_key_resumes(data, tmp_path):
    out = tmp_path / "cmp"
    config = tiny_config(data, variants=("subpixel",), naive_timing=False)
    compare(config, out, progress=False, echo=lambda m: None)
    settings = json.loads((out / "compare.json").read_text())
    settings["kinds"] = settings.pop("variants")  # as 0.1 wrote it
    (out / "compare.json").write_text(json.dumps(settings))
    again = compare(config, out, force=True, progress=False, echo=lambda m: None)
    assert again["reused"] == ["subpixel"]
