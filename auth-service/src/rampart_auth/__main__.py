"""auth-service entry point."""

from rampart.lib.runtime import run_service
from rampart_auth.bootstrap import bootstrap
from rampart_auth.settings import AuthSettings


def main() -> None:
    run_service("auth", AuthSettings, bootstrap)


if __name__ == "__main__":
    main()
