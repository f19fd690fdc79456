"""The embedded backend shared by concurrent commands, `arkor server`, and login/logout/whoami
against the real backend."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cli_helpers import Arkor, make_arkor


def test_two_concurrent_commands_start_one_backend(tmp_path: Path) -> None:
    runner = make_arkor(tmp_path / "home")
    try:
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "arkor.cli.main", "server", "start"],
                cwd=tmp_path,
                env=runner.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [p.communicate(timeout=180) for p in processes]
        assert [p.returncode for p in processes] == [0, 0], outputs
        urls = {out.strip() for out, _ in outputs}
        assert len(urls) == 1, outputs
        log = (tmp_path / "home" / ".arkor" / "server" / "server.log").read_text()
        assert log.count("arkor backend ready") == 1, log
        record = runner.record()
        assert record and record["url"] in urls
        # A third command reuses it.
        assert runner("server", "start").stdout.strip() in urls
        status = json.loads(runner("server", "status", "--json").stdout)
        assert status["running"] and status["pid"] == record["pid"]
    finally:
        runner.stop_backend()
    after = json.loads(runner("server", "status", "--json").stdout)
    assert after == {**after, "running": False, "pid": None}
    assert "not running" in runner("server", "stop").stdout


def test_login_logout_whoami(arkor: Arkor) -> None:
    whoami = arkor("whoami")
    assert whoami.returncode == 0
    assert whoami.stdout.strip() == "Not signed in. Run `arkor login` or `arkor login --anonymous`."
    assert arkor("logout").stdout.strip() == "No credentials on file."

    login = arkor("login", "--anonymous")
    assert login.returncode == 0, login.stderr
    assert "Signed in anonymously (personal org: anon-" in login.stdout
    me = arkor("whoami")
    user = json.loads(me.stdout.split("\nOrgs:")[0])
    assert user["anonymous"] is True and "Orgs: anon-" in me.stdout

    # Non-interactive logout without --force keeps the file.
    kept = arkor("logout")
    assert kept.returncode == 0 and kept.stdout.strip() == "Aborted."
    credentials = arkor.home / ".arkor" / "credentials.json"
    assert credentials.exists()

    token = arkor("server", "token", "create", "--name", "alice", "--org", "team").stdout.strip()
    assert token
    bad = arkor("login", "--token", "nope")
    assert bad.returncode == 1 and "refused the token (401)" in bad.stderr
    signed = arkor("login", "--token", token)
    assert signed.returncode == 0 and "Signed in as alice (org: team)." in signed.stdout
    stored = json.loads(credentials.read_text())
    assert stored["token"] == token and stored["orgSlug"] == "team"
    assert oct(credentials.stat().st_mode & 0o777) == "0o600"
    assert json.loads(arkor("whoami").stdout.split("\nOrgs:")[0])["name"] == "alice"

    stored["token"] = "revoked-token"
    credentials.write_text(json.dumps(stored))
    expired = arkor("whoami")
    assert expired.returncode == 0 and expired.stdout.strip() == "Failed to fetch /v1/me (401). Token may be expired."

    removed = arkor("logout", "-f")
    assert removed.returncode == 0 and removed.stdout.strip() == f"Removed {credentials}."
    assert not credentials.exists()


def test_login_flag_conflicts(arkor: Arkor) -> None:
    both = arkor("login", "--anonymous", "--token", "x")
    assert both.returncode == 1 and "Pick one of --token / --anonymous, not both." in both.stderr
    oauth = arkor("login", "--oauth", "--anonymous")
    assert oauth.returncode == 1 and "Pick one of --oauth / --anonymous, not both." in oauth.stderr
