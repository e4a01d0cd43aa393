"""threat-service entry point."""

from rampart.lib.runtime import run_service
from rampart_threat.bootstrap import bootstrap
from rampart_threat.settings import ThreatSettings


def main() -> None:
    run_service("threat", ThreatSettings, bootstrap)


if __name__ == "__main__":
    main()
