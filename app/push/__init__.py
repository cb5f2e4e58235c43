"""Push to phones through Firebase Cloud Messaging (firebase-admin), delivered via the outbox."""
