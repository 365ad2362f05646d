"""The only code that touches the network: one httpx client per upstream, auth, error mapping."""
