"""First steps: the first admin, signing in, the start page of each role."""

from __future__ import annotations

from tests.dashboard.conftest import Dash


async def test_first_admin_is_announced_once(dash: Dash) -> None:
    assert len(dash.announced) == 1 and "Username: admin" in dash.announced[0]
    password = dash.announced[0].split("One-time password: ")[1].split()[0]
    response = await dash.sign_in("admin", password)
    assert response.status == 303 and response.headers["Location"] == "/dashboard/password"
    page = await dash.client.get("/dashboard/admin/users")
    assert str(page.url).endswith("/dashboard/password")
    assert await dash.accounts.ensure_first_admin() is None


async def test_each_role_starts_on_its_page(dash: Dash) -> None:
    for username, page in (
        ("root", "/dashboard/admin/users"),
        ("facilitator-a", "/dashboard/consultations"),
        ("reviewer-a", "/dashboard/reviews"),
    ):
        response = await dash.sign_in(username)
        assert response.status == 303, await response.text()
        home = await dash.client.get("/dashboard/")
        assert home.status == 200 and str(home.url).endswith(page), (username, home.url, await home.text())
