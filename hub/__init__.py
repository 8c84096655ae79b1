"""The hub: a self-hosted omnichannel inbox with leads and deals."""

__version__ = "0.1.0"
