"""Users (the people who log in), their OpenID standard claims, and subject identifiers."""
