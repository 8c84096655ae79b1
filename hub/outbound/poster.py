"""The aiohttp side of sync out: POSTs a signed webhook and says how it went, never raising.

Kept out of ``hub.crm_sync`` (which imports no transport) and handed to the sync worker by
``create_app``. The POST goes through ``hub.outbound.http``: only to an allowed address, never
following a redirect (a 3xx is a failed attempt, retried like any other).
"""

from __future__ import annotations

import asyncio

import aiohttp

from hub.crm_sync.clients.webhook import PostResult
from hub.outbound.destinations import DestinationPolicy
from hub.outbound.http import MAX_ERROR_CHARS, OutboundClient, refusal_in


class AiohttpPoster:
    def __init__(self, policy: DestinationPolicy, timeout_s: float) -> None:
        self._client = OutboundClient(policy, timeout_s)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult:
        try:
            answer = await self._client.post(url, body, headers)
        except TimeoutError:
            return PostResult(None, "timed out")
        except aiohttp.ClientError as exc:
            refused = refusal_in(exc)
            if refused is not None:
                return PostResult(None, f"not sent: {refused}"[:MAX_ERROR_CHARS])
            return PostResult(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])
        except (OSError, ValueError) as exc:
            return PostResult(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])
        except asyncio.CancelledError:
            raise
        if answer.ok:
            return PostResult(answer.status, None)
        if 300 <= answer.status < 400:
            return PostResult(
                answer.status, f"HTTP {answer.status}: a redirect (redirects are not followed)"
            )
        return PostResult(answer.status, f"HTTP {answer.status}: {answer.text}".strip())

    async def close(self) -> None:
        await self._client.close()
