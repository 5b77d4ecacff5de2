"""Running the stack: the local launcher (``make run``) and the production files (systemd, nginx, endpoints)."""
