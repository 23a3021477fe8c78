"""`python -m notifications migrate|api|worker|relay|bootstrap|audit-verify|events-catalogue`."""

from doseline.service_cli import service_cli
from notifications.catalogue import add_catalogue_command
from notifications.manifest import SERVICE

app = service_cli(SERVICE)
add_catalogue_command(app)

if __name__ == "__main__":
    app()
