"""Reading dataset sources: files with line numbers, blob downloads, Hugging Face without network."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import pytest

from arkor.engine.data import load_rows, read_source
from arkor.engine.data import sources as sources_module
from arkor.errors import ConfigError, DatasetValidationError
from arkor.protocol import BlobDatasetSource, FileDatasetSource, HuggingfaceDatasetSource, UploadedDatasetSource


def _file(path: str) -> FileDatasetSource:
    return FileDatasetSource(path=path)


def test_jsonl_rows_carry_physical_line_numbers_and_skip_empty_lines(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text('{"text": "a"}\n\n   \n{"text": "b"}\n{"text": "c"}', encoding="utf-8")
    rows = load_rows(_file("d.jsonl"), base_dir=tmp_path)
    assert [(row.line, row.data["text"]) for row in rows] == [(1, "a"), (4, "b"), (5, "c")]


def test_malformed_json_lines_are_reported_with_their_line(tmp_path: Path) -> None:
    lines = ['{"text": "ok"}'] * 16 + ['{"text": "unterminated'] + ['{"text": "ok"}', "[1, 2]"]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    read = read_source(_file("data/x.jsonl"), base_dir=tmp_path)
    assert len(read.rows) == 17
    messages = [str(issue) for issue in read.issues]
    assert messages[0].startswith("data/x.jsonl:17: invalid JSON: ")
    assert messages[1] == "data/x.jsonl:19: row must be a JSON object (got array)"
    with pytest.raises(DatasetValidationError) as caught:
        load_rows(_file("data/x.jsonl"), base_dir=tmp_path)
    assert "data/x.jsonl:17: invalid JSON" in str(caught.value)


def test_csv_line_numbers_count_the_header_and_multiline_cells(tmp_path: Path) -> None:
    text = 'prompt,completion\nhi,there\n"two\nlines",answer\n\nq,a\nonly-one-column\n'
    (tmp_path / "d.csv").write_text(text, encoding="utf-8")
    read = read_source(_file("d.csv"), base_dir=tmp_path)
    assert [(row.line, row.data) for row in read.rows] == [
        (2, {"prompt": "hi", "completion": "there"}),
        (3, {"prompt": "two\nlines", "completion": "answer"}),
        (6, {"prompt": "q", "completion": "a"}),
    ]
    assert [str(issue) for issue in read.issues] == ["d.csv:7: has 1 columns but the header has 2 (prompt, completion)"]


def test_parquet_rows_are_numbered_from_one_and_keep_nested_messages(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    conversations = [
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
        [{"role": "user", "content": "bye"}, {"role": "assistant", "content": "ciao"}],
    ]
    pq.write_table(pa.table({"messages": conversations}), tmp_path / "d.parquet")
    rows = load_rows(_file(str(tmp_path / "d.parquet")))
    assert [row.line for row in rows] == [1, 2]
    assert rows[1].data["messages"][1] == {"role": "assistant", "content": "ciao"}


def test_json_array_file_is_read_item_by_item(tmp_path: Path) -> None:
    (tmp_path / "d.json").write_text(json.dumps([{"text": "a"}, {"text": "b"}]), encoding="utf-8")
    assert [row.line for row in load_rows(_file("d.json"), base_dir=tmp_path)] == [1, 2]


def test_missing_file_and_unknown_extension_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetValidationError, match=r"nope\.jsonl: file not found"):
        load_rows(_file("nope.jsonl"), base_dir=tmp_path)
    (tmp_path / "d.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(DatasetValidationError, match=r"unsupported file type '\.txt'; use one of \.jsonl"):
        load_rows(_file("d.txt"), base_dir=tmp_path)


def test_uploaded_source_must_be_resolved_by_the_backend() -> None:
    with pytest.raises(ConfigError, match="must be resolved by the backend"):
        load_rows(UploadedDatasetSource(dataset_id="ds_1"))


class _Server:
    """A loopback HTTP server that serves one JSONL body and records each request's auth header."""

    def __init__(self, body: bytes) -> None:
        self.requests: list[tuple[str, str | None]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                owner.requests.append((self.path, self.headers.get("Authorization")))
                if self.path.startswith("/missing"):
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_blob_is_downloaded_once_with_the_bearer_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARKOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ARKOR_BLOB_ALLOW_PRIVATE", "1")  # the origin is a loopback test server
    body = b'{"text": "one"}\n{"text": "two"}\n'
    with _Server(body) as server:
        source = BlobDatasetSource(url=f"{server.url}/sets/train.jsonl?v=1", token="s3cret")
        first = load_rows(source)
        second = read_source(source)
    assert second.label == f"{server.url}/sets/train.jsonl"  # no query string: presigned URLs hold secrets
    second = second.rows
    assert [row.data["text"] for row in first] == ["one", "two"] == [row.data["text"] for row in second]
    assert server.requests == [("/sets/train.jsonl?v=1", "Bearer s3cret")]
    cached = list((tmp_path / "cache" / "datasets").iterdir())
    assert len(cached) == 1 and cached[0].suffix == ".jsonl" and len(cached[0].stem) == 64
    assert cached[0].read_bytes() == body


def test_blob_http_error_names_the_status_and_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARKOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ARKOR_BLOB_ALLOW_PRIVATE", "1")  # the origin is a loopback test server
    with _Server(b"") as server:
        with pytest.raises(DatasetValidationError, match="download failed: HTTP 404") as caught:
            load_rows(BlobDatasetSource(url=f"{server.url}/missing.jsonl?sig=abc", token="s3cret"))
    assert "s3cret" not in str(caught.value) and "sig=abc" not in str(caught.value)
    assert list((tmp_path / "cache" / "datasets").iterdir()) == []


def test_blob_needs_an_http_url() -> None:
    with pytest.raises(ConfigError, match="must be an http"):
        load_rows(BlobDatasetSource(url="ftp://example.com/x.jsonl"))


@pytest.fixture
def no_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-datasets")
    monkeypatch.setattr(datasets.config, "HF_HUB_CACHE", tmp_path / "hf-hub", raising=False)


def test_huggingface_in_offline_mode_fails_fast_and_suggests_a_file_source(
    no_hf_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datasets
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # Both libraries read the variable when first imported; set what they read.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(sources_module, "_hub_reachable", lambda: pytest.fail("no probe in offline mode"))
    with pytest.raises(DatasetValidationError) as caught:
        load_rows(HuggingfaceDatasetSource(name="arkor-test/not-cached-anywhere", split="train"))
    message = str(caught.value)
    assert message.startswith("Cannot load Hugging Face dataset 'arkor-test/not-cached-anywhere'")
    assert "arkor-test/not-cached-anywhere/train: the Hugging Face hub cannot be reached" in message
    assert "Use a 'file' source instead" in message


def test_huggingface_with_unreachable_hub_does_not_try_the_network(
    no_hf_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datasets
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(sources_module, "_hub_reachable", lambda: False)
    with pytest.raises(DatasetValidationError, match="hub cannot be reached from here"):
        load_rows(HuggingfaceDatasetSource(name="arkor-test/not-cached-anywhere", subset="en"))
    # The offline switch is restored after the attempt.
    assert constants.HF_HUB_OFFLINE is False and datasets.config.HF_HUB_OFFLINE is False
