"""Parse ebur128 summaries and compute the gain that reaches the target loudness after limiting.

Usage::

    lines = runner.run(ffmpeg.analysis_argv(plan, exe), ...).stderr_lines
    measured, curve = parse_analysis(lines, ffmpeg.LIMITER_PROBE_GAINS)
    gain_db = solve_gain(measured, curve, target_lufs=-16.0)     # e.g. +7.9 (+7.1, +0.8 limiter loss)

The analysis pass also measures, on a cheap mono 16 kHz copy, how much loudness the limiter removes at a
few candidate gains (``curve``); the gain is then solved so that the limited result lands on the target.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_INSTANCE = re.compile(r"\[Parsed_ebur128_(\d+) @")
_VALUE = re.compile(r"^\s*(I|LRA|Peak):\s+(-?inf|-?[\d.]+)\s+(LUFS|LU|dBFS)")
# Below this the programme is effectively silence: do not pump noise up by +60 dB.
SILENCE_LUFS = -60.0


@dataclass(frozen=True, slots=True)
class Loudness:
    """EBU R128 measurement: integrated loudness (LUFS), true peak (dBTP), loudness range (LU)."""

    integrated_lufs: float
    true_peak_dbtp: float
    lra_lu: float

    def gain_to(self, target_lufs: float) -> float:
        """Gain (dB) that brings the integrated loudness to ``target_lufs``; 0 for silence."""
        if self.integrated_lufs <= SILENCE_LUFS:
            return 0.0
        return target_lufs - self.integrated_lufs


def _summaries(lines: Iterable[str]) -> list[dict[str, float]]:
    """Every "Summary:" block, ordered by filter instance (= order in the filter graph)."""
    blocks: list[tuple[int, dict[str, float]]] = []
    current: dict[str, float] | None = None
    for line in lines:
        if "Summary:" in line:
            match = _INSTANCE.search(line)
            current = {}
            blocks.append((int(match.group(1)) if match else len(blocks), current))
            continue
        value = _VALUE.match(line) if current is not None else None
        if value and current is not None:
            number = value.group(2)
            current[value.group(1)] = float("-inf") if number.endswith("inf") else float(number)
    return [values for _, values in sorted(blocks, key=lambda b: b[0])]


def parse_ebur128(lines: Iterable[str]) -> Loudness:
    """Read the first ebur128 "Summary:" block (the one measuring the programme with peak=true)."""
    blocks = _summaries(lines)
    values = blocks[0] if blocks else {}
    missing = {"I", "LRA", "Peak"} - values.keys()
    if missing:
        raise ValueError(f"no ebur128 summary found (missing {sorted(missing)})")
    return Loudness(integrated_lufs=values["I"], true_peak_dbtp=values["Peak"], lra_lu=values["LRA"])


def parse_analysis(
    lines: Sequence[str], gains: Sequence[float]
) -> tuple[Loudness, list[tuple[float, float]]]:
    """Return the programme's loudness and [(gain, dB the limiter removes at that gain)]."""
    measured = parse_ebur128(lines)
    blocks = _summaries(lines)[1:]
    if len(blocks) != len(gains) + 1:
        return measured, []
    reference = blocks[0]["I"]
    curve = [(g, max(0.0, reference + g - b["I"])) for g, b in zip(gains, blocks[1:], strict=True)]
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


def solve_gain(measured: Loudness, curve: Sequence[tuple[float, float]], target_lufs: float) -> float:
    """Gain g with integrated + g − limiter_loss(g) = target (fixed point; the loss grows slower than g)."""
    base = measured.gain_to(target_lufs)
    if measured.integrated_lufs <= SILENCE_LUFS:
        return 0.0
    gain = base
    for _ in range(30):
        gain = base + _interpolate(curve, gain)
    return gain
