"""Peaks for a waveform display in BBC audiowaveform's JSON format, computed from streamed PCM.

Usage::

    builder = WaveformBuilder(sample_rate=8000, samples_per_pixel=800)
    runner.run(argv_with_pcm_on_stdout, stdout_sink=builder.feed)   # mono s16le chunks
    json.dumps(builder.result())
    # {"version": 2, "channels": 1, "sample_rate": 8000, "samples_per_pixel": 800, "bits": 8,
    #  "length": 4, "data": [-12, 15, -30, 31, ...]}
"""

from __future__ import annotations

from array import array
from typing import Any

# A signed byte (two's complement) → the same order as an unsigned byte (offset binary, +128), so that the
# built-in min() and max() over bytes, which yield cached small ints, compare them correctly.
_TO_OFFSET = bytes(b ^ 0x80 for b in range(256))


class WaveformBuilder:
    """Accumulate min/max per pixel from mono signed 16-bit little-endian PCM, in constant memory."""

    def __init__(self, *, sample_rate: int, samples_per_pixel: int) -> None:
        self.sample_rate = sample_rate
        self.samples_per_pixel = max(1, samples_per_pixel)
        self._pending = b""
        self._carry = b""
        self._data = array("b")

    def feed(self, chunk: bytes) -> None:
        """Take any-sized PCM bytes; complete pixels are reduced immediately."""
        raw = self._pending + chunk if self._pending else bytes(chunk)
        usable = len(raw) - len(raw) % 2
        self._pending = raw[usable:]
        # 16-bit → 8-bit like audiowaveform keeps the top byte: the high byte of each little-endian sample
        # is floor(sample / 256), and min/max commute with that (it never reverses an order). Working on
        # those bytes costs a fraction of iterating 16-bit samples as Python ints (~0.25 s per 10 min).
        tops = self._carry + raw[1:usable:2].translate(_TO_OFFSET)
        spp = self.samples_per_pixel
        whole = len(tops) - len(tops) % spp
        for start in range(0, whole, spp):
            self._add(tops[start : start + spp])
        self._carry = tops[whole:]

    def _add(self, block: bytes) -> None:
        self._data.append(min(block) - 128)
        self._data.append(max(block) - 128)

    def result(self) -> dict[str, Any]:
        """Return the audiowaveform v2 JSON document (flushes a final partial pixel)."""
        if self._carry:
            self._add(self._carry)
            self._carry = b""
        return {
            "version": 2,
            "channels": 1,
            "sample_rate": self.sample_rate,
            "samples_per_pixel": self.samples_per_pixel,
            "bits": 8,
            "length": len(self._data) // 2,
            "data": self._data.tolist(),
        }
