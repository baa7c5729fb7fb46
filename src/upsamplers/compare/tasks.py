"""The tasks a compare run can answer for: a reference model with a swappable
upsampler, the data it learns from, and the training that suits it.

Each task is there for a reason a user can weigh:

* ``separate`` (default): a small Demucs-like separator (U-Net with additive
  skips, no LSTM) trained on a mixture of recorded speech and recorded music to
  give the two back. Skip-connected encoder-decoders of this kind are what most
  waveform models users build look like (separators, enhancers, codecs'
  decoders), and it is the setting of Pons et al. (ICASSP 2021, Table 1: Demucs
  on MUSDB), whose figures the report sets beside ours.
* ``bandwidth``: x4 bandwidth extension (audio super-resolution) with a U-Net
  with skips on recorded speech: the input is the audio low-passed and
  decimated by 4, the target the original; scored with SNR and log-spectral
  distance. This is the setting the classic ``SubPixel1D`` layer came from
  (Kuleshov et al., 2017).
* ``autoencoder``: the article's model, kept as what it is: a skip-less
  bottleneck autoencoder (three ReLUs in its decoder), the hard case in which an
  upsampler's start decides whether the model trains at all. Its ranking does
  not carry over to skip-connected models.
* ``vocoder``: a small MelGAN-like generator that makes recorded speech from its
  log-mel spectrogram, with plain and anti-aliased activations (its variants
  differ in their activations, the upsamplers are MelGAN's transposed
  convolutions): the setting of the aliasing that activations fold back in
  vocoders (BigVGAN; Gu et al., 2025). Scored on STFT magnitudes (spectral SNR,
  then log-spectral distance; a mel spectrogram has no phase to recover), with
  the aliased-to-harmonic ratio of each trained model in the report.

Why ``separate`` is the default: its ranking is the one that carries over to
the models users build (skips, several decoder stages, real recordings), it is
the setting with published figures to compare with, and its default budget fits
within about 15 minutes on two cores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._checks import check_choice


@dataclass(frozen=True)
class CompareTask:
    """One task: ``model`` (a name of :data:`upsamplers.models.MODELS`) with
    ``model_options``, trained on the embedded data set ``data`` (a name of
    :data:`upsamplers.data.EMBEDDED`) with ``training`` (fields of
    :class:`upsamplers.train.TrainConfig` and of the plateau criterion), and
    ``why``: what the task stands for."""

    name: str
    model: str
    data: str
    model_options: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    why: str = ""
    published: str | None = None  # key of a published table the report compares with
    # the variants compared when none are named (None: compare.variants.DEFAULT_VARIANTS)
    variants: tuple[str, ...] | None = None
    # whether the report measures the aliased-to-harmonic ratio of each trained model
    # (sines through the whole model: a model from audio to audio of the same rate)
    aliasing: bool = False


# training every task shares: Adam at lr 1e-3 with a linear warm-up over 15 % of the
# steps (over 5 %, one separator seed in twelve, subpixel seed 2, sat at -6.5 dB
# validation SI-SDR from step 160 on with its output 16 dB below the target; the same
# seed over 15 % reached +2.3 dB in 800 steps, and at lr 5e-4 -0.5 dB) and a cosine
# decay that ends at the last one (the budget), evaluated on an
# exponential moving average of the weights (decay 0.995: a curve that does not jump
# with the last batches); a run is converged when the second half of its steps (a
# doubling of its budget) gained less than 0.3 dB, so that a budget three times as
# long (log2(3) = 1.58 doublings) should gain less than 0.5 dB. Under --steps the
# runs train all their steps (1600) and evaluate every 160; under the default time
# budget the steps are planned (upsamplers.compare.budget). Evaluations score the
# first 60 s of validation audio.
COMMON_TRAINING: dict[str, Any] = {
    "lr": 1e-3, "stft_weight": 0.0, "loss": "l1", "batch_size": 8, "crop": 16384,
    "schedule": "cosine", "warmup": 0.15, "ema": 0.995,
    "eval_every": 160, "eval_seconds": 60.0, "plateau_db": 0.3, "plateau_fraction": 0.5,
    "min_steps": 1600, "steps": 1600,
}

TASKS: dict[str, CompareTask] = {t.name: t for t in (
    CompareTask(
        "separate", "demucs", "speech_music",
        # width 16: the best SI-SDR per CPU-minute measured (one thread, 2 shared cores,
        # minus SI-SDR loss, lr 1e-3, cosine): width 8 reached +4.61 dB validation SI-SDR
        # in 3000 steps (46 ms each, 140 s), width 16 +5.77 dB in 1500 steps (91 ms each,
        # 137 s), against the mixture's -0.01 dB
        {"width": 16, "depth": 4, "lstm_layers": 0},
        # trained on minus the SI-SDR, what it is scored with (the L1 loss at lr 3e-4
        # left every run below its own input mixture)
        {**COMMON_TRAINING, "loss": "si_sdr"},
        "a small Demucs-like separator (U-Net with additive skips, no LSTM) that splits a "
        "mixture of recorded speech and recorded music into the two; the setting of Pons et "
        "al. (ICASSP 2021, Table 1) and of the skip-connected models users build",
        published="pons2021"),
    CompareTask(
        "bandwidth", "unet", "speech",
        # width 16 and kernel 9 cost 385 ms a step on one CPU thread; this, 80 ms
        {"factor": 4, "width": 8, "depth": 3, "kernel_size": 5},
        COMMON_TRAINING,
        "x4 bandwidth extension of recorded speech with a U-Net with skips (input low-passed "
        "and decimated by 4, target the original), scored with SNR and log-spectral "
        "distance: the setting the classic SubPixel1D layer came from (Kuleshov et al., 2017)"),
    CompareTask(
        "autoencoder", "autoencoder", "music",
        {},
        COMMON_TRAINING,
        "the article's skip-less bottleneck autoencoder on recorded music: the hard case, "
        "in which the upsampler's start decides whether the model trains at all (its ranking "
        "does not carry over to skip-connected models)"),
    CompareTask(
        "vocoder", "melgan", "speech",
        # hop 64 at 16 kHz (4 ms); hidden 32 -> 16 -> 8 -> 4 channels. One thread, batch
        # 4 x 8192, the compare timing (median of 5, 2 shared cores at load 5-6): melgan 66
        # ms a step, melgan-aa 188, bigvgan 138, snakebeta-adaa-aa 290 (hidden 64: about
        # 2.5x), so the 1200 steps of a run train in 1.5-6 minutes
        {"factors": [4, 4, 4], "hidden": 32, "residual_blocks": 1, "n_fft": 256,
         "n_mels": 40},
        # the multi-resolution STFT loss, as vocoders are trained without their GAN: the
        # L1 on the waveform (always part of the loss) asks for a phase the mel
        # spectrogram does not hold and pulls the output towards zero. Validation spectral
        # SNR of melgan at step 400: 0.65 dB with weight 1, 0.96 dB with weight 20 (lr
        # 3e-3); 0.44 dB at lr 1e-3; hidden 64 or 128 no better. Without a GAN this
        # generator learns slowly: its figures at this budget are those of a model still
        # far from a good vocoder
        {**COMMON_TRAINING, "lr": 3e-3, "stft_weight": 20.0, "batch_size": 4, "crop": 8192,
         "min_steps": 1200, "steps": 1200, "eval_every": 120},
        "a small MelGAN-like vocoder (log-mel spectrogram of recorded speech -> waveform, "
        "MelGAN's transposed convolutions) with plain and anti-aliased activations, scored "
        "on STFT magnitudes, with the aliased-to-harmonic ratio (AHR) of each trained model: "
        "the setting in which activations fold harmonics back into the band (BigVGAN; Gu et "
        "al., 2025)",
        variants=("melgan", "melgan-aa", "bigvgan", "snakebeta-adaa-aa"), aliasing=True),
)}
DEFAULT_TASK = "separate"


def task_spec(name: Any) -> CompareTask:
    """The task called ``name`` (``InvalidValue`` naming the known ones)."""
    return TASKS[check_choice("task", name, tuple(TASKS))]
