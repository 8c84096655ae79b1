"""The channel admin API (create, list, edit, delete channels) and the channels' part of the
OpenAPI document. A channel's own routes (its inbound webhook, the widget's endpoints) live in
its package, registered by its spec in ``hub.channels.registry``."""
