"""A local CSV file as a Ray Data source, read by the local engine's own reader (imported by the Ray
engine only: nothing else imports Ray)."""
from __future__ import annotations

from pathlib import Path

from ray.data import Datasource, ReadTask
from ray.data.block import BlockMetadata

from core.classify.batch_input import csv_frames


class LocalCsv(Datasource):
    """One CSV file, streamed ``rows`` listings at a time by one read task, every value as text, damaged
    lines and undecodable rows kept in place and marked (``csv_frames``)."""

    def __init__(self, path: Path, rows: int):
        super().__init__()
        self.path = path
        self.rows = rows

    def estimate_inmemory_data_size(self) -> int:
        return self.path.stat().st_size

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                       data_context=None) -> list[ReadTask]:
        path, rows = self.path, self.rows
        metadata = BlockMetadata(num_rows=None, size_bytes=path.stat().st_size, input_files=(str(path),),
                                 exec_stats=None)
        return [ReadTask(lambda: csv_frames(path, rows), metadata, per_task_row_limit=per_task_row_limit)]
