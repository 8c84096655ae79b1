"""The Telegram channel: customers write to the company's bot, operators answer from the inbox.

``config`` checks a token and builds aiogram ``Bot`` objects, ``connect`` connects a bot (getMe,
setWebhook), ``models`` keeps its token and the updates received, ``mapping`` turns an update
into an ``InboundMessage``, ``files`` downloads media, ``updates`` stores and applies updates
(from the webhook in ``routes`` or the long-polling runner in ``polling``), ``adapter`` sends
operator replies, and ``deeplink`` signs the ``/start`` links that carry a website visitor over.
"""
