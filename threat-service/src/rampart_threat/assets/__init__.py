"""The organisation's assets: every host a live scan has seen, kept from the scan events."""
