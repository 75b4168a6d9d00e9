"""Artwork Apple accepts: RGB (sRGB), 1400–3000 px, opaque, served as its real type; via service, API and admin."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from episodes.artwork import is_srgb, normalise_artwork
from episodes.models import Episode, Show
from episodes.services.content import show_update
from episodes.services.errors import InvalidInput
from feeds.mapping import artwork_url

pytestmark = pytest.mark.django_db


def encoded(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **options)
    return buf.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def linear_rgb_icc() -> bytes:
    """A minimal ICC v2 display profile: sRGB's primaries with a linear (gamma 1.0) tone curve."""

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    text = b"linear sRGB primaries\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text + b"\0" * 8 + b"\0" * 3 + b"\0" * 67
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 0x0100) + b"\0\0"
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", xyz(0.4361, 0.2225, 0.0139)),
            (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)), (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]  # fmt: skip
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (
        struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ " + b"\0" * 12
        + b"acsp" + b"\0" * 24 + struct.pack(">I", 0) + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 48
    )  # fmt: skip
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def normalised(data: bytes, name: str) -> tuple[str, Image.Image, bytes]:
    fixed = normalise_artwork(ContentFile(data, name=name))
    out = fixed.read()
    return str(fixed.name), opened(out), out


def test_cmyk_jpeg_becomes_rgb_keeping_its_colour() -> None:
    data = encoded(Image.new("CMYK", (1400, 1400), (0, 255, 255, 0)), "JPEG", quality=95)  # red in CMYK
    name, image, _ = normalised(data, "cover.jpg")
    assert (name, image.format, image.mode, image.size) == ("cover.jpg", "JPEG", "RGB", (1400, 1400))
    r, g, b = image.getpixel((700, 700))  # type: ignore[misc]
    assert r > 200 and g < 60 and b < 60


def test_an_embedded_icc_profile_is_honoured() -> None:
    # Linear-light grey 128/255 is sRGB ~188: a converter that ignored the profile would leave 128.
    data = encoded(Image.new("RGB", (1400, 1400), (128, 128, 128)), "PNG", icc_profile=linear_rgb_icc())
    _, image, _ = normalised(data, "cover.png")
    assert image.mode == "RGB" and is_srgb(image.info.get("icc_profile"))  # none, or an sRGB one
    assert image.getpixel((0, 0)) == pytest.approx((188, 188, 188), abs=3)


@pytest.mark.parametrize(
    ("mode", "colour"),
    [("L", 90), ("I;16", 40000), ("P", 0), ("RGBA", (255, 0, 0, 0)), ("LA", (20, 0))],
)
def test_greyscale_palette_and_alpha_pngs_become_opaque_rgb(mode: str, colour: Any) -> None:
    image = Image.new(mode, (1400, 1400), colour)
    options: dict[str, Any] = {}
    if mode == "P":
        image.putpalette([0, 0, 255] * 256)
        options["transparency"] = 0  # palette entry 0 is transparent
    _, fixed, _ = normalised(encoded(image, "PNG", **options), "cover.png")
    assert (fixed.format, fixed.mode) == ("PNG", "RGB")
    pixel = fixed.getpixel((10, 10))
    if mode in ("P", "RGBA", "LA"):
        assert pixel == (255, 255, 255)  # transparency flattened onto white
    elif mode == "L":
        assert pixel == (90, 90, 90)
    else:
        assert pixel == pytest.approx((155, 155, 155), abs=1)  # 40000 / 257


def test_png_bytes_named_jpg_get_the_png_name() -> None:
    data = encoded(Image.new("RGB", (1400, 1400), (10, 20, 30)), "PNG")
    name, image, out = normalised(data, "cover.jpg")
    assert name == "cover.png" and image.format == "PNG"
    assert out == data  # already right: kept byte for byte


def test_large_art_is_scaled_to_3000_and_small_art_is_refused() -> None:
    _, image, _ = normalised(encoded(Image.new("RGB", (3200, 3200), (1, 2, 3)), "JPEG"), "big.jpg")
    assert image.size == (3000, 3000)
    with pytest.raises(Exception, match="at least 1400×1400 pixels.*scaling it up would only blur it"):
        normalise_artwork(ContentFile(encoded(Image.new("RGB", (1000, 1000)), "PNG"), name="small.png"))


def test_service_stores_normalised_art_and_delivery_serves_its_real_type(show: Show, client: Client) -> None:
    cmyk_png_named_jpg = encoded(Image.new("LA", (1400, 1400), (50, 255)), "PNG")
    show_update(show=show, artwork=ContentFile(cmyk_png_named_jpg, name="cover.jpg"))
    show.refresh_from_db()
    name = show.artwork.name or ""
    assert name.endswith(".png")
    url = artwork_url("s", show.pk, name).split("://", 1)[-1].split("/", 1)[1]
    response = client.get(f"/{url}")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    served = opened(response.getvalue())
    assert served.mode == "RGB" and served.getpixel((0, 0)) == (50, 50, 50)
    with pytest.raises(InvalidInput) as info:
        show_update(show=show, artwork=ContentFile(encoded(Image.new("RGB", (900, 900)), "PNG"), name="s.png"))
    assert "1400" in info.value.fields["artwork"][0]


def test_api_puts_show_and_episode_artwork(api: Callable[..., Any], tokens: dict[str, str], episode: Episode) -> None:
    a = api(tokens["a"])
    cmyk = encoded(Image.new("CMYK", (1500, 1500), (0, 0, 0, 0)), "JPEG")
    response = a.client.put(f"/api/v1/shows/{episode.show.slug}/artwork", cmyk, content_type="image/jpeg",
                            headers={"Authorization": f"Bearer {tokens['a']}"})  # fmt: skip
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["mime_type"], body["width"], body["height"]) == ("image/jpeg", 1500, 1500)
    episode.show.refresh_from_db()
    with episode.show.artwork.open("rb") as fh:
        assert opened(fh.read()).mode == "RGB"
    png = encoded(Image.new("P", (1400, 1400)), "PNG")
    response = a.client.put(f"/api/v1/episodes/{episode.pk}/artwork?filename=art.jpg", png,
                            content_type="image/jpeg", headers={"Authorization": f"Bearer {tokens['a']}"})  # fmt: skip
    assert response.status_code == 200 and response.json()["mime_type"] == "image/png"
    assert response.json()["url"].split("?")[0].endswith("/artwork.png")
    small = encoded(Image.new("RGB", (800, 800)), "PNG")
    response = a.client.put(f"/api/v1/episodes/{episode.pk}/artwork", small, content_type="image/png",
                            headers={"Authorization": f"Bearer {tokens['a']}"})  # fmt: skip
    assert response.status_code == 422 and "1400" in response.json()["error"]["message"]
    anonymous = a.client.put(f"/api/v1/episodes/{episode.pk}/artwork", png, content_type="image/png")
    assert anonymous.status_code == 401


def test_admin_upload_is_normalised(client: Client, show: Show) -> None:
    from tests.episodes.test_admin import _show_form

    client.force_login(User.objects.create_superuser("ed", "ed@example.com", "pw-not-used-elsewhere"))
    buf = io.BytesIO(encoded(Image.new("CMYK", (1400, 1400), (255, 0, 0, 0)), "JPEG"))
    buf.name = "cyan.jpg"
    response = client.post(reverse("admin:episodes_show_add"), {**_show_form(), "artwork": buf})
    assert response.status_code == 302, response.content.decode()[:3000]
    created = Show.objects.get(slug="новий-подкаст")
    with created.artwork.open("rb") as fh:
        image = opened(fh.read())
    assert image.mode == "RGB" and image.format == "JPEG"
