"""Files: upload, metadata, listing, content and expiry (core.files.files), over a storage backend
(core.files.storage)."""
