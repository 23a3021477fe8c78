"""`python -m escalation`: the command line."""

from escalation.cli import main

raise SystemExit(main())
