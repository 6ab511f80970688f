"""Two processes sharing one connection's plugin state (one store) refresh its tokens over and
over without ever losing the refresh token, though each refresh kills the previous one (the
strict reading of Intuit's rotation)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flx import PluginState, Store
from flx_quickbooks.emulator import DEMO_CLIENT_ID, DEMO_REALM, Emulator, run_server
from flx_quickbooks.oauth import KvTokenStore, TokenSet

CHILD = """
import sys
import httpx
from flx import PluginState, Store
from flx_quickbooks.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REALM
from flx_quickbooks.oauth import KvTokenStore, TokenManager
from flx_quickbooks.settings import QboSettings

base, url, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
settings = QboSettings(realm_id=DEMO_REALM, client_id=DEMO_CLIENT_ID,
                       client_secret=DEMO_CLIENT_SECRET, api_url=base,
                       token_url=base + "/oauth2/v1/tokens/bearer", name="qb")
with Store(url) as store, httpx.Client() as http:
    manager = TokenManager(settings, KvTokenStore(PluginState(store, "connection:qb")), http)
    token = manager.access_token()
    for _ in range(rounds):
        token = manager.force_refresh(token)
print("refreshed", manager.refreshes)
"""


def test_two_processes_rotating_one_token_lose_nothing(tmp_path: Path) -> None:
    emulator = Emulator()
    url = f"sqlite:///{tmp_path / 'flx.db'}"
    with Store(url) as store:
        KvTokenStore(PluginState(store, "connection:qb")).save(
            TokenSet(emulator.oauth.issue(DEMO_CLIENT_ID, DEMO_REALM), realm_id=DEMO_REALM))
    with run_server(emulator) as base:
        children = [subprocess.Popen([sys.executable, "-c", CHILD, base, url, "10"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                    for _ in range(2)]
        outputs = [child.communicate(timeout=120) for child in children]
    for child, (_out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
    made = sum(int(out.split()[-1]) for out, _ in outputs)
    assert made == emulator.oauth.refreshes >= 10
    with Store(url) as store:
        stored = KvTokenStore(PluginState(store, "connection:qb")).load()
    assert stored is not None and stored.refresh_token in emulator.oauth.refresh_tokens
