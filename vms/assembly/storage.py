"""Object storage for a node: the configured S3 server, or an embedded SeaweedFS under the data directory."""

from __future__ import annotations

import logging
from pathlib import Path

from vms.config import Settings
from vms.storage import EmbeddedSeaweed, ObjectStore

log = logging.getLogger("vms.storage")


class NodeStorage:
    """Starts the embedded S3 server when no endpoint is configured, and creates the buckets."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.embedded: EmbeddedSeaweed | None = None
        self.store: ObjectStore | None = None

    def start(self) -> ObjectStore:
        cfg = self.settings.storage
        endpoint = cfg.endpoint
        if endpoint is None:
            data = Path(self.settings.data_dir) / "object-storage"
            self.embedded = EmbeddedSeaweed(
                data_dir=data,
                access_key=cfg.access_key,
                secret_key=cfg.secret_key,
                s3_port=cfg.embedded_s3_port,
                log_path=Path(self.settings.data_dir) / "logs" / "seaweedfs.log",
            )
            log.info("starting embedded SeaweedFS in %s", data)
            self.embedded.start()
            endpoint = self.embedded.endpoint
            self._endpoint_file.write_text(endpoint)
        store = ObjectStore(endpoint, cfg.access_key, cfg.secret_key, secure=cfg.secure, region=cfg.region)
        # Both buckets use object lock: disputed footage and evidence are put under legal hold.
        store.ensure_bucket(cfg.recordings_bucket, object_lock=True)
        store.ensure_bucket(cfg.evidence_bucket, object_lock=True)
        self.store = store
        return store

    @property
    def _endpoint_file(self) -> Path:
        """Where a running node tells CLI commands the endpoint of its embedded S3 server."""
        return Path(self.settings.data_dir) / "object-storage" / "endpoint"

    def connect(self) -> ObjectStore:
        """For CLI commands: the configured server, or the embedded one of a running node on this data
        directory, or, if no node runs, a private embedded instance until :meth:`stop`."""
        cfg = self.settings.storage
        if cfg.endpoint is None and self._endpoint_file.exists():
            store = ObjectStore(self._endpoint_file.read_text().strip(), cfg.access_key, cfg.secret_key)
            if store.ping():
                self.store = store
                return store
        return self.start()

    def stop(self) -> None:
        if self.embedded is not None:
            self._endpoint_file.unlink(missing_ok=True)
            self.embedded.stop()
            self.embedded = None
