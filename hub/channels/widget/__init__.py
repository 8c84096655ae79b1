"""The website chat widget channel: visitors on a site chat with operators.

``config`` validates a widget channel's settings, ``visitors`` holds the visitor's named writes
and reads, ``live`` pushes to visitor sockets, ``adapter`` sends operator replies to them and
``routes`` is the HTTP and WebSocket surface.
"""
