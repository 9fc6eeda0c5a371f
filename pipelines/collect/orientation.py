"""Images as viewers show them: EXIF orientation applied.

Phone photos are often stored sideways with an EXIF Orientation tag. Browsers, and so Label Studio, show them turned;
face and plate detectors look for upright objects. So intake reports the shown size and hashes the shown pixels, and
de-identification detects on them and writes them upright, without the EXIF that turned them.
"""

from __future__ import annotations

from PIL import Image, ImageOps

ORIENTATION_TAG = 0x0112  # EXIF Orientation: 1 upright; 5-8 turned by 90 or 270 degrees


def turned_sideways(im: Image.Image) -> bool:
    """Whether viewers show the image with width and height swapped."""
    return im.getexif().get(ORIENTATION_TAG, 1) in (5, 6, 7, 8)


def upright(im: Image.Image) -> Image.Image:
    """The image as shown: a transposed copy when its EXIF orientation says so, else the image itself."""
    if im.getexif().get(ORIENTATION_TAG, 1) in (0, 1):
        return im
    return ImageOps.exif_transpose(im)
