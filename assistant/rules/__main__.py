"""``python -m assistant.rules [RULES_DIR [SOURCES_DIR]]``: check the rule set; exit 1 listing the problems."""

from __future__ import annotations

import sys
from pathlib import Path

from assistant.config import get_settings
from assistant.rules.schema import check_rules


def main(argv: list[str]) -> int:
    settings = get_settings()
    rules_dir = Path(argv[0]) if argv else settings.rules_dir
    sources_dir = Path(argv[1]) if len(argv) > 1 else settings.sources_dir
    problems = check_rules(rules_dir, sources_dir)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(problems)} problem(s) in {rules_dir}" if problems else f"rule set OK: {rules_dir}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
