"""Reason codes of quarantined items, and the exception intake and de-identification raise to quarantine one.

Codes are ``<area>.<what>``; a later stage (and ``datadam quarantine show``) groups by them, so they are API.
"""

from __future__ import annotations

# Source: the item could not be produced at all.
SOURCE_UNAVAILABLE = "source.unavailable"
SOURCE_PATH_TRAVERSAL = "source.path_traversal"  # a name (record path, archive member) that leaves its root
SOURCE_SYMLINK = "source.symlink"  # a symbolic link, and the source does not follow links
SOURCE_SYMLINK_ESCAPE = "source.symlink_escape"  # a symbolic link whose target is outside the source root
SOURCE_DUPLICATE_ID = "source.duplicate_id"  # a record repeats the id of an earlier record
SOURCE_FORBIDDEN_ADDRESS = "source.forbidden_address"  # a URL or redirect to loopback, private, link-local ... hosts
SOURCE_OUTSIDE_ROOT = "source.outside_root"  # a media reference outside the source's own root (another bucket ...)

# Archives expanded by a source.
ARCHIVE_BOMB = "archive.bomb"  # too many entries, too many bytes, or a compression ratio no real file has
ARCHIVE_UNDECODABLE = "archive.undecodable"

# Media of any kind.
MEDIA_EMPTY = "media.empty"  # zero bytes
MEDIA_UNDECODABLE = "media.undecodable"
MEDIA_TRUNCATED = "media.truncated"
MEDIA_FORMAT = "media.format"  # decodes, but not one of the spec's formats
MEDIA_TOO_SMALL = "media.too_small"  # resolution below the spec's minimum
MEDIA_TOO_LARGE = "media.too_large"  # resolution above the spec's maximum
MEDIA_OVERSIZE = "media.oversize"  # more bytes (or pixels) than the spec or the decoder allows

IMAGE_COLOR = "image.color"

AUDIO_SAMPLE_RATE = "audio.sample_rate"
AUDIO_CHANNELS = "audio.channels"
AUDIO_BIT_DEPTH = "audio.bit_depth"
AUDIO_TOO_SHORT = "audio.too_short"
AUDIO_TOO_LONG = "audio.too_long"
AUDIO_SILENT = "audio.silent"

VIDEO_FPS = "video.fps"  # frame rate below the spec's minimum, or none the container declares
VIDEO_TOO_SHORT = "video.too_short"
VIDEO_TOO_LONG = "video.too_long"
VIDEO_FRAME_COUNT = "video.frame_count"  # more frames decode than the container declares, or frames change size

# DICOM: decodes, but is not what the spec's dicom block allows.
DICOM_NO_PIXELS = "dicom.no_pixels"  # a structured report, RT plan ... (no image to annotate)
DICOM_MODALITY = "dicom.modality"
DICOM_BITS_STORED = "dicom.bits_stored"
DICOM_PHOTOMETRIC = "dicom.photometric"
DICOM_FRAMES = "dicom.frames"

TEXT_ENCODING = "text.encoding"
TEXT_MALFORMED = "text.malformed"  # JSON/CSV wrapper without a text field
TEXT_TOO_SHORT = "text.too_short"
TEXT_TOO_LONG = "text.too_long"

# A record's metadata value that is not of its schema column's type (a date that is no date, "12개" for an int):
# kept, it would be lost as a null or stop refine. Values of the right type but off the spec (an enum value not in
# its set, a number out of range) are the quality model's to measure (validate's syntactic.meta.* checks).
META_INVALID = "meta.invalid"

TIMESERIES_CHANNELS = "timeseries.channels"
TIMESERIES_DURATION = "timeseries.duration"

# Multimodal items: the component files of one item (docs/adr/0024).
MULTIMODAL_MISSING = "multimodal.component_missing"  # a component the spec declares has no file
MULTIMODAL_EXTRA = "multimodal.component_extra"  # a second file of one component, or a file of no component

DEDUPE_EXACT = "dedupe.exact"
DEDUPE_NEAR = "dedupe.near"  # detail names the kept item it nearly duplicates

PII_UNMASKED = "pii.unmasked"  # a detector still finds personal data after masking
PII_BURNED_IN = "pii.burned_in"  # text burned into DICOM pixels, and the spec says quarantine (or it was not found)
DEID_FAILED = "deid.failed"  # the de-identifier could not process the item

ALL_REASONS: frozenset[str] = frozenset(
    v for k, v in dict(globals()).items() if k.isupper() and isinstance(v, str) and "." in v
)


class Reject(Exception):
    """An item fails a check: quarantine it with ``reason`` (a code above) and a human ``detail``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
