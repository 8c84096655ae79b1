"""Everything the hub sends out to addresses it is given: the address rule
(``destinations``), the guarded HTTP client (``http``), Standard Webhooks signing (``signing``),
the sync-out poster (``poster``) and the OpenAPI description of those requests (``openapi``)."""
