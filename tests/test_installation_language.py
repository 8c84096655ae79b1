"""A Russian installation (``HUB_LANGUAGE=ru``) makes its defaults in Russian: the sales
pipeline's stages and the lost reasons, which reports, exports and webhooks show as stored;
a hub that made them already is left as it is. (An English installation, the default, is
what every other sales test runs on.)"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from hub.app import create_app
from hub.crm_sync.defaults import ensure_defaults
from hub.http import CTX
from hub.settings import Settings
from tests.helpers import customer_says, make_api_channel, make_operator


async def _names(client: TestClient) -> tuple[str, list[str], list[str]]:  # type: ignore[type-arg]
    op = await make_operator(client, role="manager")
    pipelines = await (await client.get("/api/v1/pipelines", headers=op.headers)).json()
    reasons = await (await client.get("/api/v1/lost-reasons", headers=op.headers)).json()
    default = next(p for p in pipelines["items"] if p["is_default"])
    return (
        default["name"],
        [s["name"] for s in default["stages"]],
        [r["name"] for r in reasons["items"]],
    )


async def test_a_russian_installation_names_its_defaults_in_russian(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await aiohttp_client(create_app(settings.model_copy(update={"language": "ru"})))
    pipeline, stages, reasons = await _names(client)
    assert pipeline == "Продажи"
    assert stages == [
        "Новая",
        "Квалифицирована",
        "КП отправлено",
        "Переговоры",
        "Договор",
        "Успешно",
        "Проиграна",
    ]
    assert reasons[:2] == ["Дорого", "Выбрал конкурента"]
    # Made once: starting again changes nothing an installation has.
    assert await ensure_defaults(client.app[CTX]) is False
    assert (await _names(client))[1][0] == "Новая"
    # A deal of a contact with no name is called after him in Russian.
    admin = await make_operator(client, role="admin")
    said = await customer_says(client, await make_api_channel(client, admin), "?", name="")
    resp = await client.post(
        "/api/v1/deals",
        json={"contact_id": said["conversation"]["contact_id"]},
        headers=admin.headers,
    )
    deal = await resp.json()
    assert deal["title"] == f"Клиент #{said['conversation']['contact_id']}"
    assert deal["stage"]["name"] == "Новая"
