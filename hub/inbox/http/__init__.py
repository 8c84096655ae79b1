"""The inbox's HTTP side: thin handlers over ``hub.inbox``, its web pages and cookie session, and
its part of the OpenAPI document (``openapi``). Everything that imports aiohttp for the inbox is
here; the rules stay in ``hub.inbox``."""
