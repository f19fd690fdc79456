"""Dataset sources and formats, and the dataset-upload extension."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from ._base import WireModel

# Dataset files the backend reads and accepts for upload (`.pq` is Parquet too).
DATASET_FILE_EXTENSIONS: tuple[str, ...] = (".jsonl", ".ndjson", ".json", ".csv", ".parquet", ".pq")

# The names a user may give as `dataset_format`. "chatml" is the original's name for chat messages.
DatasetFormatName = Literal["auto", "messages", "chatml", "prompt_completion", "alpaca", "text"]


class DatasetFormat(WireModel):
    """`{"type": "chatml"}` on the wire (the original's shape); a bare string is accepted too."""

    type: DatasetFormatName = "auto"


class HuggingfaceDatasetSource(WireModel):
    type: Literal["huggingface"] = "huggingface"
    name: str
    split: str | None = None
    subset: str | None = None


class BlobDatasetSource(WireModel):
    type: Literal["blob"] = "blob"
    url: str
    token: str | None = None


class FileDatasetSource(WireModel):
    """A local JSONL, CSV or Parquet file. The SDK uploads it and sends an `uploaded` source instead;
    the backend hands workers a `file` source pointing at its own stored copy."""

    type: Literal["file"] = "file"
    path: str


class UploadedDatasetSource(WireModel):
    """A dataset stored in the backend by `POST /v1/datasets`, referenced by its content id."""

    type: Literal["uploaded"] = "uploaded"
    dataset_id: str
    filename: str | None = None


DatasetSource = Annotated[
    HuggingfaceDatasetSource | BlobDatasetSource | FileDatasetSource | UploadedDatasetSource,
    Field(discriminator="type"),
]


class DatasetIssue(WireModel):
    """One problem found in a dataset: where it is and what is wrong."""

    line: int | None = None
    field: str | None = None
    message: str
    path: str | None = None  # the file's name, e.g. `train.jsonl`


class DatasetUploadResponse(WireModel):
    """Answer to `POST /v1/datasets`: the content id to reference, and what was found in the file."""

    read_required: ClassVar[frozenset[str]] = frozenset({"dataset_id"})  # all the SDK needs

    dataset_id: str
    filename: str
    rows: int
    format: str
    size: int
    sha256: str
    created: bool
