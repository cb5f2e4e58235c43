"""Storage: the engine, sessions, column types and migrations. Tables live with their feature."""
