"""Infrastructure, not business rules: the email transport and worker, the lone-working monitor
loop, encrypted backups and the restore drill, demo data. Services never import from here."""
