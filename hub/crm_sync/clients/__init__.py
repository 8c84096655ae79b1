"""Outbound sync targets: each turns an outbox record into a request an outside system accepts."""
