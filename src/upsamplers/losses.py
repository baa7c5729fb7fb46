"""The training losses: the multi-resolution STFT loss, and the reconstruction
loss of :mod:`upsamplers.train` (an L1 or SI-SDR waveform term plus a weighted
STFT term)."""

from __future__ import annotations

import torch

from ._checks import InvalidValue, check_choice

#: the waveform terms of :class:`ReconstructionLoss`
LOSSES = ("l1", "si_sdr")


class MultiResolutionSTFTLoss(torch.nn.Module):
    """Multi-resolution STFT loss (Yamamoto et al., 2020): for every resolution,
    spectral convergence ``|Y - X|_F / |Y|_F`` plus the mean absolute difference
    of log magnitudes, averaged over resolutions. The same formulas and defaults
    as ``auraloss.freq.MultiResolutionSTFTLoss`` (magnitudes ``sqrt(max(|S|^2,
    1e-8))``, Hann windows, centred frames), except that the spectral convergence
    is taken per signal and then averaged, so that the loss of a batch is the mean
    of its signals' losses (which DistributedDataParallel needs to reproduce a
    single process). With one signal it equals auraloss' value.

    Resolutions whose FFT is longer than the signal are left out.

    Shape: ``(N, 1, T), (N, 1, T) -> ()``.
    """

    def __init__(self, fft_sizes: tuple[int, ...] = (512, 1024, 2048),
                 hop_sizes: tuple[int, ...] = (50, 120, 240),
                 win_lengths: tuple[int, ...] = (240, 600, 1200), eps: float = 1e-8) -> None:
        super().__init__()
        self.resolutions = list(zip(fft_sizes, hop_sizes, win_lengths, strict=True))
        self.eps = eps
        for n_fft, _, win in self.resolutions:
            self.register_buffer(f"window_{n_fft}", torch.hann_window(win), persistent=False)

    def _magnitude(self, x: torch.Tensor, n_fft: int, hop: int, win: int) -> torch.Tensor:
        spec = torch.stft(x, n_fft, hop, win, getattr(self, f"window_{n_fft}"),
                          return_complex=True)
        return torch.sqrt(torch.clamp(spec.real ** 2 + spec.imag ** 2, min=self.eps))

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        n = estimate.shape[-1]
        x, y = estimate.reshape(-1, n), target.reshape(-1, n)  # (N, 1, T) -> (N, T)
        used = [r for r in self.resolutions if r[0] <= n]
        if not used:
            raise InvalidValue(f"signals must have at least "
                               f"{min(r[0] for r in self.resolutions)} samples for the STFT "
                               f"loss; received {n}")
        total = estimate.new_zeros(())
        for n_fft, hop, win in used:
            xm, ym = self._magnitude(x, n_fft, hop, win), self._magnitude(y, n_fft, hop, win)
            sc = (ym - xm).flatten(1).norm(dim=1) / ym.flatten(1).norm(dim=1)
            log_mag = (torch.log(xm) - torch.log(ym)).abs().mean()
            total = total + sc.mean() + log_mag
        return total / len(used)


class ReconstructionLoss(torch.nn.Module):
    """The training loss: a waveform term plus ``stft_weight`` times the
    multi-resolution STFT loss (FFT sizes 512, 1024, 2048; see
    :class:`MultiResolutionSTFTLoss`), every term a mean over the signals of the
    batch, so that a batch's loss is the mean of its items'.

    ``kind`` is the waveform term: ``"l1"``, the mean absolute error;
    ``"si_sdr"``, minus the scale-invariant SDR in dB (:func:`negative_si_sdr`),
    the loss separators are trained with (it asks for the right waveform up to a
    gain, which the scorer ignores too).

    Shape: ``(B, ..., T), (B, ..., T) -> ()``; the dimensions other than time are
    flattened into ``(N, 1, T)`` for the STFT and SI-SDR terms.
    """

    def __init__(self, stft_weight: float = 1.0, kind: str = "l1") -> None:
        super().__init__()
        self.kind = check_choice("loss", kind, LOSSES)
        self.stft_weight = float(stft_weight)
        self.stft = MultiResolutionSTFTLoss()

    def forward(self, estimate: torch.Tensor, target: torch.Tensor
                ) -> tuple[torch.Tensor, dict[str, float]]:
        n = estimate.shape[-1]
        if self.kind == "si_sdr":
            wave = negative_si_sdr(estimate.reshape(-1, n), target.reshape(-1, n)).mean()
        else:
            wave = (estimate - target).abs().mean()
        total = wave
        parts = {self.kind: float(wave.detach())}
        if self.stft_weight:
            stft = self.stft(estimate.reshape(-1, 1, n), target.reshape(-1, 1, n))
            total = total + self.stft_weight * stft
            parts["stft"] = float(stft.detach())
        return total, parts


def negative_si_sdr(estimate: torch.Tensor, target: torch.Tensor, eps: float = 1e-8
                    ) -> torch.Tensor:
    """Minus the SI-SDR in dB of every row: with ``a = <e, t> / (|t|^2 + eps)``,
    ``-10 log10((|a t|^2 + eps) / (|e - a t|^2 + eps))``; ``eps`` keeps a silent
    target crop finite (its loss is then that of the estimate's energy).

    Shape: ``(N, T), (N, T) -> (N,)``.
    """
    scale = (estimate * target).sum(-1, keepdim=True) / (target.pow(2).sum(-1, keepdim=True)
                                                          + eps)
    projection = scale * target
    error = estimate - projection
    ratio = (projection.pow(2).sum(-1) + eps) / (error.pow(2).sum(-1) + eps)
    return -10.0 * torch.log10(ratio)
