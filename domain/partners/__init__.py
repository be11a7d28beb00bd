"""Partner apps (ERP, WMS, marketplaces' connectors) and the OAuth clients they use."""
