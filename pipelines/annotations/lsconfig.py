"""What every Label Studio config builder shares: the XML helpers, the keyframe image list's name, the error.

The builders themselves live with their annotation type (``pipelines/annotations/types/``); the stage
(``pipelines/label/config.py``) writes the object tags and calls the type's builder through the registry.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from pipelines.spec.models import DatasetSpec

# Video items of KEYFRAME_TYPES are annotated on keyframes, and multi-frame DICOM items frame by frame: an image
# list in task data ``frames``.
FRAMES = "frames"


class LabelConfigError(ValueError):
    """The spec's annotation cannot be expressed as a Label Studio config (yet); the message names why."""


Builder = Callable[[DatasetSpec, ET.Element, str], None]


def _el(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, tag, attrs)


def _options(parent: ET.Element, tag: str, values: list[str]) -> ET.Element:
    for v in values:
        _el(parent, tag, value=v)
    return parent


def _image_only(kind: str, to: str, spec: DatasetSpec) -> None:
    if to not in ("image", FRAMES):
        raise LabelConfigError(f"{spec.id}: {kind} annotation on {to} is not supported yet (images and keyframes)")
