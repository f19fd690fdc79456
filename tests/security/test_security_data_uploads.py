"""Finding 5: `POST /v1/datasets` with bounded memory. The body streams to a temp file under a byte cap
(413); validation reads row by row (Parquet row group by row group) within limits on rows, one row's
size and the decoded size, each refused with a 413 naming its setting; an org's stored datasets have a
quota; temp files a crash left are removed at start; peak memory does not follow the attack's size."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from security_data_helpers import (  # noqa: F401 (fixtures)
    Caller,
    ServerProcess,
    isolated_home,
    make_backend,
    parquet_bomb,
    rows_jsonl,
)


def _refused(response, setting: str) -> str:
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert setting in error, error
    return error


def test_a_parquet_bomb_is_refused_from_its_footer(make_backend, tmp_path: Path) -> None:
    caller = Caller(make_backend().url)
    bomb = parquet_bomb(tmp_path / "bomb.parquet", 3_000_000)
    assert bomb.stat().st_size < 20_000
    _refused(caller.upload(bomb.read_bytes(), "bomb.parquet"), "ARKOR_MAX_DATASET_ROWS")


def test_rows_row_size_and_decoded_size_are_limited_per_format(make_backend, tmp_path: Path) -> None:
    caller = Caller(
        make_backend(max_dataset_rows=50, max_dataset_row_bytes=2_000, max_dataset_decoded_bytes=40_000).url
    )
    _refused(caller.upload(rows_jsonl(51), "many.jsonl"), "ARKOR_MAX_DATASET_ROWS")
    csv_rows = b"prompt,completion\n" + b"".join(b"p%d,c\n" % i for i in range(51))
    _refused(caller.upload(csv_rows, "many.csv"), "ARKOR_MAX_DATASET_ROWS")
    long_line = b'{"prompt": "' + b"a" * 5_000 + b'", "completion": "c"}\n'
    error = _refused(caller.upload(rows_jsonl(3) + long_line, "long.jsonl"), "ARKOR_MAX_DATASET_ROW_BYTES")
    assert "long.jsonl:4" in error
    _refused(caller.upload(b"prompt,completion\n" + b"a" * 5_000 + b",c\n", "long.csv"), "ARKOR_MAX_DATASET_ROW_BYTES")
    quoted = b'prompt,completion\n"' + b"line\n" * 1_000 + b'",c\n'  # one record over many short lines
    _refused(caller.upload(quoted, "multi.csv"), "ARKOR_MAX_DATASET_ROW_BYTES")
    array = json.dumps([{"prompt": f"p{i}", "completion": "c"} for i in range(200)]).encode()
    _refused(caller.upload(array, "array.json"), "ARKOR_MAX_DATASET_ROW_BYTES")
    wide = parquet_bomb(tmp_path / "wide.parquet", 0)
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"prompt": ["x" * 1_500] * 40, "completion": ["c"] * 40}), wide)
    _refused(caller.upload(wide.read_bytes(), "wide.parquet"), "ARKOR_MAX_DATASET_DECODED_BYTES")
    ok = caller.upload(rows_jsonl(50), "fine.jsonl")
    assert ok.status_code == 201 and ok.json()["rows"] == 50, ok.text


def test_the_body_is_capped_and_leaves_no_temp_file(make_backend, tmp_path: Path) -> None:
    caller = Caller(make_backend(max_upload_bytes=1_000).url)
    _refused(caller.upload(rows_jsonl(100), "big.jsonl"), "ARKOR_MAX_UPLOAD_BYTES")
    assert [p.name for p in (tmp_path / "data" / "datasets").iterdir()] == []


def test_an_org_has_a_storage_quota(make_backend) -> None:
    server = make_backend(org_storage_quota_bytes=6_000)
    first, other = Caller(server.url), Caller(server.url)
    assert first.upload(rows_jsonl(80, "a"), "a.jsonl").status_code == 201
    _refused(first.upload(rows_jsonl(80, "b"), "b.jsonl"), "ARKOR_ORG_STORAGE_QUOTA_BYTES")
    assert other.upload(rows_jsonl(80, "b"), "b.jsonl").status_code == 201  # quotas are per org


def test_invalid_rows_are_still_reported_by_line(make_backend) -> None:
    caller = Caller(make_backend().url)
    data = rows_jsonl(3) + b'{"prompt": "p"}\nnot json\n'
    response = caller.upload(data, "bad.jsonl")
    assert response.status_code == 400 and response.json()["details"][0]["line"] == 5, response.text
    response = caller.upload(rows_jsonl(3) + b'{"prompt": "p", "completion": 3}\n', "bad.jsonl")
    assert response.status_code == 400 and response.json()["details"][0]["line"] == 4, response.text


def test_temp_upload_files_left_by_a_crash_are_removed_at_start(make_backend, tmp_path: Path) -> None:
    stale = [
        tmp_path / "data" / "datasets" / f".upload-{uuid.uuid4().hex}.jsonl",
        tmp_path / "data" / "artifacts" / "job_x" / f".upload-{uuid.uuid4().hex}.part",
        tmp_path / "data" / "specs" / f".job_x.{uuid.uuid4().hex}.tmp",
    ]
    keep = tmp_path / "data" / "datasets" / "kept.jsonl"
    for path in [*stale, keep]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"partial")
    make_backend()
    assert not any(path.exists() for path in stale) and keep.exists()


def _peak_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))


def test_peak_memory_does_not_follow_the_upload(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data")
    try:
        caller = Caller(server.url)
        assert caller.upload(rows_jsonl(10), "warm.jsonl").status_code == 201
        baseline = _peak_kb(server.pid)
        tiny = b"".join(b'{"text":"%d"}\n' % (i % 10) for i in range(700_000))  # ~9 MB of tiny rows
        assert caller.upload(tiny, "tiny.jsonl").status_code == 201
        long_line = b'{"text": "' + b"a" * (100 * 1024 * 1024) + b'"}\n'
        _refused(caller.upload(long_line, "long.jsonl"), "ARKOR_MAX_DATASET_ROW_BYTES")
        growth_mb = (_peak_kb(server.pid) - baseline) / 1024
        assert growth_mb < 120, f"peak RSS grew {growth_mb:.0f} MB"  # was ~600 MB before streaming
    finally:
        server.close()


def test_validation_runs_a_bounded_few_at_a_time_and_other_routes_keep_answering(make_backend, monkeypatch) -> None:
    import threading

    from arkor.server.routes import datasets as datasets_route

    real = datasets_route.validate_dataset_file
    release = threading.Event()
    lock = threading.Lock()
    state = {"running": 0, "most": 0, "entered": 0}
    entered = threading.Semaphore(0)

    def held(*args):  # the real validation, held open so the test controls when it finishes
        with lock:
            state["running"] += 1
            state["entered"] += 1
            state["most"] = max(state["most"], state["running"])
        entered.release()
        try:
            assert release.wait(60)
            return real(*args)
        finally:
            with lock:
                state["running"] -= 1

    monkeypatch.setattr(datasets_route, "validate_dataset_file", held)
    server = make_backend(upload_validation_workers=2)
    callers = [Caller(server.url) for _ in range(5)]
    answers: list[int] = []
    threads = [
        threading.Thread(target=lambda c=c: answers.append(c.upload(rows_jsonl(20, c.org), "d.jsonl").status_code))
        for c in callers
    ]
    for thread in threads:
        thread.start()
    assert entered.acquire(timeout=60) and entered.acquire(timeout=60)  # two validations are held open
    import time

    for _ in range(1200):  # the other three queue on the uploads' own pool, holding no thread
        if server.app.state.services.pools.waiting("validation") == 3:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the other uploads are not waiting on the validation limiter")
    # While they are, the others wait their turn and every other route still answers (loop and thread pool free).
    probe = callers[0]
    assert probe.http.get("/v1/me").status_code == 200
    assert probe.http.get("/v1/jobs", params=probe.scope).status_code == 200
    with lock:
        assert state["entered"] == 2 and state["most"] == 2
    release.set()
    for thread in threads:
        thread.join(60)
    assert sorted(answers) == [201] * 5 and state["most"] == 2


def test_hostile_json_is_an_issue_on_its_line_not_a_crash(make_backend) -> None:
    caller = Caller(make_backend().url)
    deep = b"[" * 200_000 + b"]" * 200_000 + b"\n"
    long_number = b'{"prompt": ' + b"9" * 100_000 + b', "completion": "c"}\n'
    for name, data in (
        ("deep.jsonl", rows_jsonl(2) + deep),
        ("number.jsonl", rows_jsonl(2) + long_number),
        ("deep.json", b'[{"prompt": "p", "completion": ' + b"[" * 200_000 + b"]" * 200_000 + b"}]"),
    ):
        response = caller.upload(data, name)
        assert response.status_code == 400, (name, response.text)
        assert response.json()["details"][0]["message"].startswith("invalid JSON"), response.text
