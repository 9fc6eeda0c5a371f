"""Object storage over file:// and s3:// roots, and the storage layout of DESIGN.md."""

from pipelines.storage import layout
from pipelines.storage.store import (
    ObjectInfo,
    ObjectStore,
    ObjectTooLarge,
    S3Reader,
    S3Settings,
    StorageError,
    Transfer,
    open_store,
)

__all__ = ["ObjectInfo", "ObjectStore", "ObjectTooLarge", "S3Reader", "S3Settings", "StorageError", "Transfer",
           "layout", "open_store"]
