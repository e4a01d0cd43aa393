"""Change monitoring and alerts (issue 13): ScanChanged after each settled scan, per-organisation
alert preferences, and the ``scan.changed`` webhook they filter (docs/alerts.md)."""
