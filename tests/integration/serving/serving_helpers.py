"""Helpers for serving tests: an anonymous API caller, real PEFT adapters for `arkor/tiny-test`, and a
completed job row pointing at them (training is covered elsewhere; here only serving matters)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import select

from arkor.server._util import iso_now, new_id
from arkor.server.models import JobRow, OrgRow, ProjectRow
from arkor.server.runner import BackgroundServer

CLIENT_HEADER = {"X-Arkor-Client": "arkor/0.1.0"}
TINY = "arkor/tiny-test"


class Api:
    """An anonymous caller of the backend with one project."""

    def __init__(self, url: str, project: str = "proj") -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, headers=CLIENT_HEADER, timeout=120)
        anon = self.http.post("/v1/auth/anonymous", json={"kind": "cli"}).json()
        self.token = anon["token"]
        self.org = anon["personalOrg"]["slug"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        self.project = project
        created = self.http.post("/v1/projects", params={"orgSlug": self.org}, json={"name": project, "slug": project})
        assert created.status_code == 201, created.text
        self.scope = {"orgSlug": self.org, "projectSlug": project}

    def create_deployment(self, slug: str, target: dict, auth_mode: str = "none", **extra) -> httpx.Response:
        return self.http.post(
            "/v1/endpoints", params=self.scope, json={"slug": slug, "target": target, "authMode": auth_mode, **extra}
        )


def make_adapter(folder: Path, seed: int) -> None:
    import torch
    from peft import LoraConfig, get_peft_model

    from arkor.engine.models import load_model

    torch.manual_seed(seed)
    model = get_peft_model(
        load_model(TINY),
        LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], init_lora_weights=False),
    )
    model.save_pretrained(str(folder))


def add_completed_job(
    server: BackgroundServer,
    api: Api,
    data_dir: Path,
    *,
    model: str = TINY,
    final: bool = True,
    checkpoints: tuple[int, ...] = (2,),
) -> str:
    """A completed job row in the caller's project, with adapter folders where the backend keeps them."""
    services = server.app.state.services
    job_id = new_id("job")
    with services.db.write() as session:
        org = session.execute(select(OrgRow).where(OrgRow.slug == api.org)).scalar_one()
        project = session.execute(
            select(ProjectRow).where(ProjectRow.org_id == org.id, ProjectRow.slug == api.project)
        ).scalar_one()
        now = iso_now()
        session.add(
            JobRow(
                id=job_id,
                org_id=org.id,
                project_id=project.id,
                name="served",
                status="completed",
                config={"model": model, "datasetSource": {"type": "huggingface", "name": "x"}},
                created_at=now,
                started_at=now,
                completed_at=now,
                cancel_requested=False,
            )
        )
    root = data_dir / "artifacts" / job_id
    if final:
        make_adapter(root / "final", seed=1)
    for step in checkpoints:
        make_adapter(root / "checkpoints" / f"step-{step}", seed=100 + step)
    return job_id


@dataclass
class Served:
    server: BackgroundServer
    api: Api
    data_dir: Path
    job_id: str
