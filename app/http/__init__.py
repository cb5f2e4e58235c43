"""HTTP plumbing shared by every router: dependencies, form parsing, error rendering."""
