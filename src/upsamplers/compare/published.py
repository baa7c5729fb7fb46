"""Published figures a compare report sets beside its own.

Pons, Pascual, Cengarle and Serrà, *Upsampling artifacts in neural audio
synthesis*, ICASSP 2021, Table 1: a Demucs-like separator trained on MUSDB with
four upsamplers in its decoder, test SDR in dB. Our ``separate`` task is the
same design at a scale that trains in minutes on a CPU, and ``--preset paper``
(:mod:`.presets`) their setting at their model's size on a MUSDB folder; the
differences of setting of the run are listed with the figures
(:func:`setting_lines`) so that nobody reads them as one experiment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .aggregate import VariantSummary

PONS_2021 = {
    "source": "Pons et al., Upsampling artifacts in neural audio synthesis, ICASSP 2021, "
              "Table 1 (Demucs on MUSDB, test SDR in dB)",
    "metric": "SDR (dB)",
    "sdr": {"transposed": 5.35, "subpixel": 5.38, "nearest": 5.17, "linear": 4.62},
    "setting": [
        "data: MUSDB18 (150 professionally mixed songs, 4 stems: vocals, drums, bass, other), "
        "stereo, 44.1 kHz; ours: the task's embedded recordings, mono, 16 kHz",
        "model: the full Demucs (6 levels, 64 channels at the first, a 2-layer BiLSTM, "
        "millions of parameters); ours: the task's small model (see its options), no LSTM",
        "training: hundreds of epochs on a GPU with augmentation; ours: until a plateau or "
        "the step budget, minutes on a CPU",
        "metric: museval SDR (BSS Eval v4, median over frames and tracks); ours: the "
        "task's metrics over whole validation files (mean over files and sources)",
        "seeds: one per layer as far as the paper says; ours: the mean over the seeds",
    ],
}


def setting_lines(config: Any | None) -> list[str]:
    """The differences of setting between Table 1 and this run (``config``: its
    :class:`~upsamplers.compare.CompareConfig`; ``None``: the task's defaults, the
    lines of :data:`PONS_2021`), each line "theirs; ours", said as it is: what
    matches is said to match."""
    if config is None:
        return list(PONS_2021["setting"])
    options = dict(config.model_options or {})
    channels = int(options.get("audio_channels", 1))
    rate = int(config.sample_rate)
    data = ("the task's embedded recordings" if config.data is None
            else f"the stem folder {config.data}")
    same_audio = channels == 2 and rate == 44100
    audio = (f"{'stereo' if channels == 2 else f'{channels} channel(s)'}, {rate / 1000:g} kHz"
             + (" (as theirs)" if same_audio else ""))
    depth, width = options.get("depth", 5), options.get("width", 32)
    lstm, kernel = options.get("lstm_layers", 2), options.get("kernel_size", 8)
    factor = options.get("factor", 4)
    paper_size = (depth, width, lstm, kernel, factor) == (6, 64, 2, 8, 4)
    model = (f"DemucsLike with {depth} levels, {width} channels at the first, kernel {kernel} "
             f"stride {factor}, " + (f"a {lstm}-layer BiLSTM" if lstm else "no LSTM")
             + (", no biases (their modified Demucs)" if options.get("modified") else "")
             + (": the paper's size" if paper_size else ": smaller than the paper's"))
    budget = (f"{config.minutes:g} min per run" if config.minutes is not None
              else f"at most {config.max_steps} steps of batch {config.batch_size} x "
                   f"{config.crop} samples per run")
    return [
        "data: MUSDB18 (150 professionally mixed songs, 4 stems: vocals, drums, bass, other), "
        f"stereo, 44.1 kHz; ours: {data}, {audio}",
        "model: the full Demucs (6 levels, 64 channels at the first, kernel 8 stride 4, a "
        f"2-layer BiLSTM, millions of parameters); ours: {model}",
        "training: hundreds of epochs on GPUs with augmentation; ours: until a plateau or "
        f"{budget}, no augmentation",
        "metric: museval SDR (BSS Eval v4, median over frames and tracks); ours: the "
        "task's metrics over whole validation tracks (mean over tracks and sources)",
        "seeds: one per layer as far as the paper says; ours: the mean over "
        f"{config.seeds} seed(s)",
    ]


def published_comparison(summaries: Sequence[VariantSummary], metric: str,
                         config: Any | None = None) -> dict[str, Any]:
    """Our means of ``metric`` beside Pons et al.'s SDR, for the variants both
    have, both rankings (best first), and the differences of setting
    (:func:`setting_lines` of ``config``)."""
    ours = {s.variant: s.stats[metric].mean if metric in s.stats else None for s in summaries}
    shared = [k for k in PONS_2021["sdr"] if k in ours]
    rows = [{"variant": k, "ours": ours[k], "status": next(s.status for s in summaries
                                                           if s.variant == k),
             "published": PONS_2021["sdr"][k]} for k in shared]
    theirs_order = sorted(shared, key=lambda k: -PONS_2021["sdr"][k])
    ours_order = sorted((k for k in shared if ours[k] is not None), key=lambda k: -ours[k])
    spread = lambda values: max(values) - min(values) if values else None  # noqa: E731
    return {"source": PONS_2021["source"], "metric": metric,
            "published_metric": PONS_2021["metric"], "rows": rows,
            "published_order": theirs_order, "our_order": ours_order,
            "published_range_db": spread([PONS_2021["sdr"][k] for k in shared]),
            "our_range_db": spread([ours[k] for k in ours_order]),
            "setting": setting_lines(config)}
