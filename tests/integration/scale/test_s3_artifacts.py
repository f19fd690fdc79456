"""Artifacts on an S3-compatible store (moto's server on 127.0.0.1) through `ARKOR_ARTIFACTS_URL=s3://...`:
a worker's upload lands in the bucket, not on the backend's disk, and is served back byte for byte;
an adapter folder is fetched to a local cache for inference."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest
from server_helpers import FAKE_WORKER, Api, events_of

from arkor.server.runner import BackgroundServer
from arkor.server.settings import ServerSettings
from arkor.server.storage import ArtifactStorage


@pytest.fixture
def s3_env(moto_s3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    for key, value in moto_s3.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path / "home"))
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    s3fs.S3FileSystem(anon=False).mkdir("arkor-test")
    return moto_s3


def test_worker_artifacts_go_to_s3_and_are_served_back(s3_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = ServerSettings(
        data_dir=tmp_path / "data",
        artifacts_url="s3://arkor-test/runs",
        worker_command=[sys.executable, str(FAKE_WORKER)],
        watchdog_interval_s=0.2,
        sse_ping_interval_s=1,
    )
    with BackgroundServer(settings) as server:
        api = Api(server.url)
        job = api.submit(saveSteps=1)
        events = events_of(api.frames(job["id"], timeout=60))
        assert events[-1]["type"] == "training.completed", events[-1]
        listed = api.http.get(f"/v1/jobs/{job['id']}/artifacts", params=api.scope).json()["artifacts"]
        assert listed, "the fake worker uploads artifacts"
        for artifact in listed:
            body = api.http.get(f"/v1/jobs/{job['id']}/artifacts/{artifact['pathname']}", params=api.scope)
            assert body.status_code == 200 and hashlib.sha256(body.content).hexdigest() == artifact["sha256"]

    import s3fs

    bucket = s3fs.S3FileSystem(anon=False)
    stored = {p.split(f"{job['id']}/", 1)[1] for p in bucket.find(f"arkor-test/runs/{job['id']}")}
    assert stored == {a["pathname"] for a in listed}
    local = tmp_path / "data" / "artifacts" / job["id"]
    assert not local.exists() or not any(p.is_file() for p in local.rglob("*"))


def test_remote_adapter_folder_is_cached_locally(s3_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    storage = ArtifactStorage("s3://arkor-test/cache-test", cache_dir=tmp_path / "cache")
    files = {}
    for name, data in (("final/adapter_config.json", b"{}"), ("final/adapter_model.safetensors", os.urandom(1000))):
        tmp = tmp_path / "upload.part"
        tmp.write_bytes(data)
        storage.put("job_x", name, tmp)
        files[name] = hashlib.sha256(data).hexdigest()
    folder = storage.local_folder("job_x", "final", files)
    assert sorted(p.name for p in folder.iterdir()) == ["adapter_config.json", "adapter_model.safetensors"]
    assert storage.local_folder("job_x", "final", files) == folder  # cached
    assert not storage.is_local and storage.exists("job_x", "final/adapter_config.json")
