"""``python -m corral`` runs the server CLI."""

from corral.server.cli import main

if __name__ == "__main__":
    main()
