"""Peaks for a waveform display in BBC audiowaveform's JSON format, computed from streamed PCM.

Usage::

    builder = WaveformBuilder(sample_rate=8000, samples_per_pixel=800)
    runner.run(argv_with_pcm_on_stdout, stdout_sink=builder.feed)   # mono s16le chunks
    json.dumps(builder.result())
    # {"version": 2, "channels": 1, "sample_rate": 8000, "samples_per_pixel": 800, "bits": 8,
    #  "length": 4, "data": [-12, 15, -30, 31, ...]}
"""

from __future__ import annotations

import sys
from array import array
from typing import Any


class WaveformBuilder:
    """Accumulate min/max per pixel from mono signed 16-bit little-endian PCM, in constant memory."""

    def __init__(self, *, sample_rate: int, samples_per_pixel: int) -> None:
        self.sample_rate = sample_rate
        self.samples_per_pixel = max(1, samples_per_pixel)
        self._pending = b""
        self._carry = array("h")
        self._data = array("b")

    def feed(self, chunk: bytes) -> None:
        """Take any-sized PCM bytes; complete pixels are reduced immediately."""
        raw = self._pending + chunk
        usable = len(raw) - len(raw) % 2
        self._pending = raw[usable:]
        samples = array("h")
        samples.frombytes(raw[:usable])
        if sys.byteorder == "big":
            samples.byteswap()
        if self._carry:
            samples = self._carry + samples
        spp = self.samples_per_pixel
        whole = len(samples) - len(samples) % spp
        for start in range(0, whole, spp):
            self._add(samples[start : start + spp])
        self._carry = samples[whole:]

    def _add(self, block: array[int]) -> None:
        # 16-bit → 8-bit like audiowaveform: keep the top byte (floor division keeps -128..127).
        self._data.append(min(block) >> 8)
        self._data.append(max(block) >> 8)

    def result(self) -> dict[str, Any]:
        """Return the audiowaveform v2 JSON document (flushes a final partial pixel)."""
        if self._carry:
            self._add(self._carry)
            self._carry = array("h")
        return {
            "version": 2,
            "channels": 1,
            "sample_rate": self.sample_rate,
            "samples_per_pixel": self.samples_per_pixel,
            "bits": 8,
            "length": len(self._data) // 2,
            "data": self._data.tolist(),
        }
