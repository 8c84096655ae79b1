"""The inbox domain: contacts, channels, conversations, messages, operators and teams.

Nothing here imports aiohttp or any provider library; routes and channel adapters translate.
"""
