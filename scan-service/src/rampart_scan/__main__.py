"""scan-service entry point."""

from rampart.lib.runtime import run_service
from rampart_scan.bootstrap import bootstrap
from rampart_scan.settings import ScanSettings


def main() -> None:
    run_service("scan", ScanSettings, bootstrap)


if __name__ == "__main__":
    main()
