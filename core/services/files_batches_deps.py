"""Wiring of files and batches: storage backend, the two servicers and the batch worker this replica runs.

core/server.py awaits `add_file_and_batch_services(...)` after the inference services (the worker runs lines
through the same InferenceDeps), and awaits `runtime.aclose()` before the inference runtime closes."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from aqueduct.v1 import batch_service_pb2_grpc, file_service_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from core.batches.batches import Batches
from core.batches.execution import LineRunner
from core.batches.store import BatchStore
from core.batches.worker import BatchWorker, new_worker_id
from core.files.files import Files
from core.files.storage import FileStorage, open_storage
from core.inference.pipeline import InferenceDeps
from core.services.batches import BatchServicer
from core.services.files import FileServicer
from core.settings import Settings


@dataclass(frozen=True, slots=True)
class FilesAndBatches:
    files: Files
    batches: Batches
    worker: BatchWorker
    storage: FileStorage

    async def aclose(self) -> None:
        await self.worker.aclose()
        await self.storage.aclose()


def add_file_and_batch_services(
    server: grpc.aio.Server, settings: Settings, engine: AsyncEngine, deps: InferenceDeps
) -> FilesAndBatches:
    """Registers FileService and BatchService on `server` and starts this replica's batch worker."""
    storage = open_storage(settings, engine)
    files = Files(engine, storage, settings)
    store = BatchStore(engine, settings.database_url, new_worker_id(), settings.batch_lease_seconds)
    worker = BatchWorker(store, files, LineRunner(deps, settings.batch_rate_limit_share), settings)
    batches = Batches(store, files, settings, on_created=worker.wake)
    file_service_pb2_grpc.add_FileServiceServicer_to_server(FileServicer(files), server)
    batch_service_pb2_grpc.add_BatchServiceServicer_to_server(BatchServicer(batches), server)
    worker.start()
    return FilesAndBatches(files, batches, worker, storage)
