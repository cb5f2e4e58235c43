"""Rich Authorization Requests (RFC 9396): ``authorization_details`` — what exactly the user is
asked to approve (a payment of an amount to a payee), validated per ``type`` against a JSON Schema,
shown on the phone, bound into the signed decision by its hash and carried into the tokens."""
