"""Demo mode (``backchannel serve --demo``): a demo user and clients, and the pages a person can
touch — the landing page, the agent console, the till and the demo shop. Everything here talks
to the server through its public HTTP API, as any integrator would; nothing reads the database."""
