"""Parse the ebur128 summary and compute the gain that reaches the target loudness.

Usage::

    lines = runner.run(ffmpeg.analysis_argv(plan, exe), ...).stderr_lines
    measured = parse_ebur128(lines)          # Loudness(integrated=-23.1, true_peak=-4.0, lra=6.2)
    gain_db = measured.gain_to(-16.0)        # +7.1
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

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


def parse_ebur128(lines: Iterable[str]) -> Loudness:
    """Read the final "Summary:" block of ffmpeg's ebur128 filter log."""
    values: dict[str, float] = {}
    in_summary = False
    for line in lines:
        if "Summary:" in line:
            in_summary, values = True, {}
            continue
        match = _VALUE.match(line) if in_summary else None
        if match:
            number = match.group(2)
            values[match.group(1)] = float("-inf") if number.endswith("inf") else float(number)
    missing = {"I", "LRA", "Peak"} - values.keys()
    if missing:
        raise ValueError(f"no ebur128 summary found (missing {sorted(missing)})")
    return Loudness(integrated_lufs=values["I"], true_peak_dbtp=values["Peak"], lra_lu=values["LRA"])
