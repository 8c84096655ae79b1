"""The aiohttp side of sync out: POSTs a signed webhook and says how it went, never raising.

Kept out of ``hub.crm_sync`` (which imports no transport) and handed to the sync worker by
``create_app``.
"""

from __future__ import annotations

import asyncio

import aiohttp

from hub.crm_sync.clients.webhook import PostResult

#: The start of an error answer kept in the delivery log.
MAX_ERROR_CHARS = 300


class AiohttpPoster:
    def __init__(self, timeout_s: float) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # No cookies between subscribers; redirects are not followed (a 3xx is a failure).
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, cookie_jar=aiohttp.DummyCookieJar()
            )
        return self._session

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult:
        try:
            async with self._client().post(
                url, data=body, headers=headers, allow_redirects=False
            ) as resp:
                if 200 <= resp.status < 300:
                    return PostResult(resp.status, None)
                text = (await resp.text(errors="replace"))[:MAX_ERROR_CHARS]
                return PostResult(resp.status, f"HTTP {resp.status}: {text}".strip())
        except TimeoutError:
            return PostResult(None, "timed out")
        except aiohttp.ClientError as exc:
            return PostResult(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])
        except (OSError, ValueError) as exc:
            return PostResult(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])
        except asyncio.CancelledError:
            raise

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
