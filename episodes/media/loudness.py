"""Parse ebur128 summaries and compute the gain that reaches the target loudness after limiting.

Usage::

    lines = runner.run(ffmpeg.analysis_argv(plan, exe), ...).stderr_lines
    measured, curve = parse_analysis(lines, ffmpeg.LIMITER_PROBE_GAINS)   # meters found by instance name
    gain_db = solve_gain(measured, curve, target_lufs=-16.0, ceiling_db=-3.0)   # e.g. +7.9 (+7.1, +0.8 loss)

The analysis pass measures I, LRA and the sample peak with ebur128, and, on sampled windows, their true peak
and how much loudness the limiter removes at a few candidate gains (``curve``); the gain is then solved so that
the limited result lands on the target.
Below the gain at which the true peak reaches the limiter's ceiling the limiter cannot act, so the loss
there is exactly zero whatever the sampled curve says.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

# "[Parsed_ebur128_3 @ 0x…] Summary:" for an unnamed instance, "[ebur128@programme @ 0x…]" for a named one.
_INSTANCE = re.compile(r"\[((?:Parsed_)?ebur128(?:@[\w-]+|_\d+)) @")
_VALUE = re.compile(r"^\s*(I|LRA|Peak):\s+(-?inf|-?[\d.]+)\s+(LUFS|LU|dBFS)")
# Below this the programme is effectively silence: do not pump noise up by +60 dB.
SILENCE_LUFS = -60.0


@dataclass(frozen=True, slots=True)
class Loudness:
    """EBU R128 measurement: integrated loudness (LUFS), true peak (dBTP), loudness range (LU)."""

    integrated_lufs: float
    true_peak_dbtp: float
    lra_lu: float

    @property
    def silent(self) -> bool:
        """Silence or near-silence (≤ −60 LUFS, or no gated block at all: −inf): no gain is applied."""
        return not self.integrated_lufs > SILENCE_LUFS  # NaN counts as silent too

    def as_json(self) -> dict[str, float | bool | None]:
        """The measurement for a JSON field: a non-finite value (silence measures −inf) becomes None."""
        values = {"integrated_lufs": self.integrated_lufs, "true_peak_dbtp": self.true_peak_dbtp, "lra_lu": self.lra_lu}
        return {**{k: v if math.isfinite(v) else None for k, v in values.items()}, "silent": self.silent}

    def gain_to(self, target_lufs: float) -> float:
        """Gain (dB) that brings the integrated loudness to ``target_lufs``; 0 for silence."""
        if self.silent:
            return 0.0
        return target_lufs - self.integrated_lufs


def _summaries(lines: Iterable[str]) -> dict[str, dict[str, float]]:
    """Every "Summary:" block by ebur128 instance name ("ebur128@programme", "Parsed_ebur128_1"), in log order."""
    blocks: dict[str, dict[str, float]] = {}
    current: dict[str, float] | None = None
    for line in lines:
        if "Summary:" in line:
            match = _INSTANCE.search(line)
            current = blocks.setdefault(match.group(1) if match else f"#{len(blocks)}", {})
            continue
        value = _VALUE.match(line) if current is not None else None
        if value and current is not None:
            number = value.group(2)
            current[value.group(1)] = float("-inf") if number.endswith("inf") else float(number)
    return blocks


def parse_ebur128(lines: Iterable[str]) -> Loudness:
    """Read the first ebur128 summary (a run with ``peak=true``, which adds the true peak)."""
    values = next(iter(_summaries(lines).values()), {})
    missing = {"I", "LRA", "Peak"} - values.keys()
    if missing:
        raise ValueError(f"no ebur128 summary found (missing {sorted(missing)})")
    return Loudness(integrated_lufs=values["I"], true_peak_dbtp=values["Peak"], lra_lu=values["LRA"])


def parse_analysis(
    lines: Sequence[str],
    gains: Sequence[float],
    *,
    programme: str = "programme",
    reference: str = "reference",
    candidate: Callable[[int], str] = "gain{}".format,
) -> tuple[Loudness, list[tuple[float, float]]]:
    """Return the programme's loudness and [(gain, dB the limiter removes at that gain)].

    The meters are ebur128 instances found by name: ``programme`` (I, LRA and, with ``peak=sample``, the sample
    peak of the whole programme), ``reference`` (the unlimited copy of the windows the curve is measured on, with
    ``peak=true``: their true peak) and ``candidate(i)`` after the limiter at ``gains[i]``. The true peak reported
    is the larger of the two peaks: exact when the windows are the whole programme (a short one), otherwise never
    below any sample of the programme nor any inter-sample peak of the windows. The curve is empty when any of
    its meters is missing.
    """
    blocks = _summaries(lines)
    values = blocks.get(f"ebur128@{programme}", {})
    missing = {"I", "LRA", "Peak"} - values.keys()
    if missing:
        raise ValueError(f"no ebur128 summary found (missing {sorted(missing)})")
    windows = blocks.get(f"ebur128@{reference}", {})
    if "Peak" not in windows:
        raise ValueError(f"no true peak found (ebur128@{reference} printed no peak)")
    peak = max(values["Peak"], windows["Peak"])
    measured = Loudness(integrated_lufs=values["I"], true_peak_dbtp=peak, lra_lu=values["LRA"])
    names = [reference, *(candidate(i) for i in range(len(gains)))]
    found = [blocks.get(f"ebur128@{name}", {}).get("I") for name in names]
    if any(value is None for value in found):
        return measured, []
    reference_i, *limited = (float(value) for value in found if value is not None)
    curve = [(g, max(0.0, reference_i + g - i)) for g, i in zip(gains, limited, strict=True)]
    return measured, [(g, loss) for g, loss in curve if math.isfinite(loss)]


def _interpolate(curve: Sequence[tuple[float, float]], gain: float) -> float:
    if not curve:
        return 0.0
    if gain <= curve[0][0]:
        return curve[0][1]
    for (g0, l0), (g1, l1) in zip(curve, curve[1:], strict=False):
        if gain <= g1:
            return l0 + (l1 - l0) * (gain - g0) / (g1 - g0)
    if len(curve) == 1:
        return curve[0][1]
    (g0, l0), (g1, l1) = curve[-2], curve[-1]
    return l1 + (l1 - l0) * (gain - g1) / (g1 - g0)


def solve_gain(
    measured: Loudness,
    curve: Sequence[tuple[float, float]],
    target_lufs: float,
    ceiling_db: float | None = None,
) -> float:
    """Gain g with integrated + g − limiter_loss(g) = target (fixed point; the loss grows slower than g).

    With the limiter's sample-peak ``ceiling_db``, gains that keep the true peak (≥ every sample peak) at or
    under it lose nothing: the curve starts from zero loss there instead of the sampled measurements.
    """
    if measured.silent:
        return 0.0
    base = measured.gain_to(target_lufs)
    if ceiling_db is not None and math.isfinite(measured.true_peak_dbtp):
        free = ceiling_db - measured.true_peak_dbtp  # the largest gain the limiter cannot act on
        if base <= free:
            return base
        curve = [(free, 0.0), *((g, loss) for g, loss in curve if g > free)]
    gain = base
    for _ in range(30):
        gain = base + _interpolate(curve, gain)
    return gain
