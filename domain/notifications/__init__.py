"""Messages to customers and staff about what happened: which events notify whom, the
templates they are rendered from, and the delivery log (one row per event, channel and
kind, claimed before it is sent)."""
