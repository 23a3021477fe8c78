"""`python -m safety migrate|api|worker|relay|bootstrap|audit-verify`."""

from doseline.service_cli import service_cli
from safety.manifest import SERVICE

app = service_cli(SERVICE)

if __name__ == "__main__":
    app()
