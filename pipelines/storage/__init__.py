"""Object storage over file:// and s3:// roots, and the storage layout of DESIGN.md."""

from pipelines.storage import layout
from pipelines.storage.store import ObjectInfo, ObjectStore, S3Settings, StorageError, open_store

__all__ = ["ObjectInfo", "ObjectStore", "S3Settings", "StorageError", "layout", "open_store"]
