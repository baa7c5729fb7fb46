"""Published figures a compare report sets beside its own.

Pons, Pascual, Cengarle and Serrà, *Upsampling artifacts in neural audio
synthesis*, ICASSP 2021, Table 1: a Demucs-like separator trained on MUSDB with
four upsamplers in its decoder, test SDR in dB. Our ``separate`` task is the
same design at a scale that trains in minutes on a CPU; the differences of
setting are listed with the figures so that nobody reads them as one experiment.
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


def published_comparison(summaries: Sequence[VariantSummary], metric: str
                         ) -> dict[str, Any]:
    """Our means of ``metric`` beside Pons et al.'s SDR, for the variants both
    have, and both rankings (best first)."""
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
            "setting": list(PONS_2021["setting"])}
