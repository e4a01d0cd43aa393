"""report-service entry point."""

from rampart.lib.runtime import run_service
from rampart_report.bootstrap import bootstrap
from rampart_report.settings import ReportSettings


def main() -> None:
    run_service("report", ReportSettings, bootstrap)


if __name__ == "__main__":
    main()
