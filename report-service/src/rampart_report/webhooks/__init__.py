"""Signed webhooks: endpoints, deliveries, the URL policy and the dispatcher (docs/webhooks.md)."""
