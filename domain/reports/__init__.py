"""Reports: figures computed by the database, money summed per currency."""
