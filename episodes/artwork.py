"""Artwork as Apple Podcasts wants it: a square RGB (sRGB) JPEG or PNG, 1400–3000 px, without transparency.

Usage::

    from episodes.artwork import normalise_artwork

    fixed = normalise_artwork(upload)       # a ContentFile named "artwork.png" / "artwork.jpg"; ValidationError
    show.artwork = fixed                    # (then validate_and_save, as every service does)

Conversions happen once, at upload: CMYK, greyscale, palette, 16-bit and alpha images become 8-bit RGB (an
embedded ICC profile is honoured, transparency is flattened onto white), art above 3000 px is scaled down,
EXIF rotation is applied, and the name's extension follows the real format (PNG bytes named ``.jpg`` become
``artwork.png``, so they are served as ``image/png``). An image already right is kept byte for byte. Art under
1400 px is refused: scaling it up would only blur it.
"""

from __future__ import annotations

import io
from pathlib import PurePath
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .validators import ARTWORK_MAX_BYTES, ARTWORK_MAX_PX, ARTWORK_MIN_PX

# Above this a side (a 10 MB PNG can declare 20000×20000) decoding alone would take too much memory.
ARTWORK_DECODE_MAX_PX = 8000
JPEG_QUALITY = 92
_SRGB = ImageCms.createProfile("sRGB")
_SUFFIX = {"JPEG": ".jpg", "PNG": ".png"}


def _read(file: Any) -> bytes:
    size = getattr(file, "size", None)
    if size is not None and size > ARTWORK_MAX_BYTES:
        raise ValidationError("Artwork must be at most 10 MB.", code="artwork_too_large")
    file.seek(0)
    data: bytes = file.read(ARTWORK_MAX_BYTES + 1)
    file.seek(0)
    if len(data) > ARTWORK_MAX_BYTES:
        raise ValidationError("Artwork must be at most 10 MB.", code="artwork_too_large")
    return data


def _check_geometry(fmt: str | None, width: int, height: int) -> None:
    if fmt not in _SUFFIX:
        raise ValidationError(f"Artwork must be a JPEG or PNG image, not {fmt}.", code="artwork_format")
    if width != height:
        raise ValidationError(f"Artwork must be square; this one is {width}×{height}.", code="artwork_square")
    if width < ARTWORK_MIN_PX:
        raise ValidationError(
            f"Artwork must be at least {ARTWORK_MIN_PX}×{ARTWORK_MIN_PX} pixels (3000×3000 is best); this one is "
            f"{width}×{height}, and scaling it up would only blur it. Export it again at a larger size.",
            code="artwork_size",
        )
    if width > ARTWORK_DECODE_MAX_PX:
        raise ValidationError(
            f"Artwork is {width}×{height}; export it at {ARTWORK_MAX_PX}×{ARTWORK_MAX_PX} pixels "
            f"(at most {ARTWORK_DECODE_MAX_PX} a side can be scaled down here).",
            code="artwork_size",
        )


def _to_srgb(image: Image.Image) -> Image.Image:
    """8-bit RGB in sRGB: through the embedded ICC profile when there is one, transparency onto white."""
    icc = image.info.get("icc_profile")
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit greyscale PNG
        image = image.point(lambda v: v / 257).convert("L")
    if image.mode == "P" or image.mode == "PA":
        image = image.convert("RGBA" if "transparency" in image.info or image.mode == "PA" else "RGB")
    if image.mode == "LA":
        image = image.convert("RGBA")
    alpha = image.mode == "RGBA"
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGBA" if alpha else "RGB")
            image = converted if converted is not None else image
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: fall back to the plain conversion below
    if image.mode == "RGBA":
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        return flat
    return image if image.mode == "RGB" else image.convert("RGB")


def is_srgb(icc: bytes | None) -> bool:
    """No profile (sRGB is assumed) or one describing itself as sRGB ("sRGB IEC61966-2.1", "sRGB built-in")."""
    if not icc:
        return True
    try:
        description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    except (ImageCms.PyCMSError, OSError, ValueError):
        return False
    return description.strip().startswith("sRGB")


def _already_right(image: Image.Image, width: int) -> bool:
    srgb_or_none = is_srgb(image.info.get("icc_profile"))
    rotated = image.getexif().get(0x0112, 1) not in (1, None)
    opaque = "transparency" not in image.info
    return image.mode == "RGB" and srgb_or_none and opaque and not rotated and width <= ARTWORK_MAX_PX


def normalise_artwork(file: Any) -> ContentFile[bytes]:
    """Check ``file`` and return it as Apple-ready artwork; raise ValidationError with a reason a producer reads.

    The result keeps the upload's name with the real format's extension ("cover.jpg" holding PNG → "cover.png").
    """
    data = _read(file)
    name = PurePath(str(getattr(file, "name", "") or "artwork")).stem or "artwork"
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format
            _check_geometry(fmt, *image.size)
            assert fmt is not None  # noqa: S101 - _check_geometry refused anything else
            if _already_right(image, image.width):
                return ContentFile(data, name=f"{name}{_SUFFIX[fmt]}")
            image.load()
            fixed = _to_srgb(ImageOps.exif_transpose(image) or image)
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValidationError("Artwork must be a JPEG or PNG image.", code="artwork_format") from exc
    if fixed.width > ARTWORK_MAX_PX:
        fixed = fixed.resize((ARTWORK_MAX_PX, ARTWORK_MAX_PX), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if fmt == "PNG":
        fixed.save(out, "PNG", optimize=False)
    else:
        fixed.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return ContentFile(out.getvalue(), name=f"{name}{_SUFFIX[fmt]}")
