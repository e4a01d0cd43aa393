"""ai-service entry point."""

from rampart.lib.runtime import run_service
from rampart_ai.bootstrap import bootstrap
from rampart_ai.settings import AiSettings


def main() -> None:
    run_service("ai", AiSettings, bootstrap)


if __name__ == "__main__":
    main()
