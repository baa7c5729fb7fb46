"""Presets of a compare run: a published setting, filled in one flag.

``paper``: Pons, Pascual, Cengarle and Serrà, *Upsampling artifacts in neural
audio synthesis* (ICASSP 2021), Table 1: their Demucs separating MUSDB's four
stems (vocals, drums, bass, other), stereo at 44.1 kHz, with each of four
upsamplers in its decoder (transposed, subpixel, nearest, linear). It needs
``data``: a MUSDB18(-HQ) folder as distributed
(``DIR/train/<track>/{mixture,vocals,drums,bass,other}.wav``, ``DIR/test/...``;
``test/`` is the validation split, ``mixture`` is not a source). It is meant for
a GPU, or a cluster through ``upsamplers train`` runs gathered with
``compare --collect``; on a CPU only a tiny override (``--steps 2
--model-option width=4 ...``) runs in reasonable time.

A preset fills what was left unset: the task, the model options (options given
are laid over the preset's), the sample rate, the variants and the training
settings. Anything given explicitly wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._checks import check_choice


@dataclass(frozen=True)
class Preset:
    """A setting: ``task`` (a name of :data:`~upsamplers.compare.tasks.TASKS`)
    with ``model_options`` over the task's, ``sample_rate`` (Hz), ``variants``,
    ``training`` (fields of :class:`~upsamplers.compare.CompareConfig`),
    ``needs_data`` (the folder it must be given, in words, or ``None``),
    ``why`` and ``published`` (the key of the published table it reproduces)."""

    name: str
    task: str
    model_options: dict[str, Any] = field(default_factory=dict)
    sample_rate: int | None = None
    variants: tuple[str, ...] | None = None
    training: dict[str, Any] = field(default_factory=dict)
    needs_data: str | None = None
    why: str = ""
    published: str | None = None


# The paper's model, as far as DemucsLike allows. Demucs (Défossez et al., 2019; v2):
# 6 encoder/decoder levels, kernel 8, stride 4, channels doubling from the first
# level, a 2-layer BiLSTM at the bottleneck, stereo in and out. Width 64 is Demucs'
# own first-level width: Pons et al. say they use Demucs and list no smaller one in
# the setting of Table 1 as we hold it (published.py), so we keep Demucs' size rather
# than guess a reduction (with --model-option width=32 a run costs about a quarter).
# ``modified``: Pons et al.'s variant (no biases, no ReLU after the first encoder
# convolution), so that no bias offset becomes a tone (their Section 3). Sources and
# source names come from the data's stems.
PAPER_MODEL = {"audio_channels": 2, "width": 64, "growth": 2, "depth": 6, "kernel_size": 8,
               "factor": 4, "lstm_layers": 2, "modified": True}
# Training as Demucs: Adam at lr 3e-4, L1 on the waveform. Crops of 86 hops
# (86 * 4**6 = 352256 samples, 7.99 s at 44.1 kHz, Demucs' 8 s segments), batch 4 on
# one GPU (Demucs: 64 over 16 GPUs); validation every 1000 steps on 60 s of the test
# tracks, a plateau no earlier than 20 000 steps, at most 300 000 steps.
PAPER_TRAINING: dict[str, Any] = {
    "lr": 3e-4, "stft_weight": 0.0, "batch_size": 4, "crop": 86 * 4 ** 6,
    "eval_every": 1000, "eval_seconds": 60.0, "plateau_db": 0.1, "plateau_fraction": 0.2,
    "min_steps": 20_000, "steps": 300_000,
}

PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("paper", "separate", PAPER_MODEL, 44100,
           ("transposed", "subpixel", "nearest", "linear"), PAPER_TRAINING,
           needs_data="a MUSDB18-HQ folder (DIR/train/<track>/{vocals,drums,bass,other}.wav "
                      "and DIR/test/<track>/...)",
           why="Pons et al. (ICASSP 2021) Table 1: Demucs on MUSDB, 4 stems, 44.1 kHz stereo, "
               "transposed / subpixel / nearest / linear",
           published="pons2021"),
)}


def preset_spec(name: Any) -> Preset:
    """The preset called ``name`` (``InvalidValue`` naming the known ones)."""
    return PRESETS[check_choice("preset", name, tuple(PRESETS))]
