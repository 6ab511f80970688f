"""Two processes sharing one connection's tokens refresh them over and over without ever
losing the refresh token, though each refresh kills the previous one (the strict reading)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flx_quickbooks.emulator import DEMO_CLIENT_ID, DEMO_REALM, Emulator, run_server
from flx_quickbooks.oauth import TokenSet
from flx_quickbooks.tokens import FileTokenStore

CHILD = """
import sys
from pathlib import Path
import httpx
from flx_quickbooks.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REALM
from flx_quickbooks.oauth import TokenManager
from flx_quickbooks.settings import QboSettings
from flx_quickbooks.tokens import FileTokenStore

base, path, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
settings = QboSettings(realm_id=DEMO_REALM, client_id=DEMO_CLIENT_ID,
                       client_secret=DEMO_CLIENT_SECRET, api_url=base,
                       token_url=base + "/oauth2/v1/tokens/bearer", name="qb")
with httpx.Client() as http:
    manager = TokenManager(settings, FileTokenStore(Path(path)), http)
    token = manager.access_token()
    for _ in range(rounds):
        token = manager.force_refresh(token)
print("refreshed", manager.refreshes)
"""


def test_two_processes_rotating_one_token_lose_nothing(tmp_path: Path) -> None:
    emulator = Emulator()
    path = tmp_path / "tokens.json"
    FileTokenStore(path).save(TokenSet(emulator.oauth.issue(DEMO_CLIENT_ID, DEMO_REALM),
                                       realm_id=DEMO_REALM))
    with run_server(emulator) as base:
        children = [subprocess.Popen([sys.executable, "-c", CHILD, base, str(path), "15"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                    for _ in range(2)]
        outputs = [child.communicate(timeout=60) for child in children]
    for child, (_out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
    made = sum(int(out.split()[-1]) for out, _ in outputs)
    assert made == emulator.oauth.refreshes >= 15
    stored = FileTokenStore(path).load()
    assert stored is not None and stored.refresh_token in emulator.oauth.refresh_tokens
